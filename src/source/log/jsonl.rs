//! JSON Lines: one object per line, fields by the configured names.

use super::*;

pub(super) fn read_jsonl(
    spec: &LogSpec,
    reader: Box<dyn Read + Send>,
    state: &mut RowState<'_>,
    sink: &mut impl FnMut(&Event<'_>) -> Result<(), SkipReason>,
) -> Result<(), SourceError> {
    let mut buf = BufReader::with_capacity(1 << 16, reader);
    let mut bytes = Vec::new();
    let mut line = 0u64;
    let f = &spec.fields;
    let mut seen_optional = [false; 4];
    let optional = [&f.session_id, &f.device, &f.channel, &f.value];
    loop {
        bytes.clear();
        match bounded_line(&mut buf, &mut bytes, spec.max_row_bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(line_error(spec, e, line + 1)),
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            line += 1;
            state.summary.rows_read += 1;
            state.reject(SkipReason::MalformedRow, line, "invalid UTF-8".into())?;
            continue;
        };
        line += 1;
        if text.trim().is_empty() {
            continue;
        }
        let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
            Ok(o) => o,
            Err(e) => {
                state.summary.rows_read += 1;
                state.reject(SkipReason::MalformedRow, line, e.to_string())?;
                continue;
            }
        };
        if line == 1 || state.summary.rows_read == 0 {
            for (name, req) in [
                ("timestamp", &f.timestamp),
                ("user_id", &f.user_id),
                ("event_name", &f.event_name),
            ] {
                if !obj.contains_key(req.as_str()) {
                    return Err(SourceError::MissingColumn {
                        path: spec.path.clone(),
                        field: name,
                        column: req.clone(),
                        available: obj.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            }
        }
        for (i, o) in optional.iter().enumerate() {
            if let Some(k) = o {
                seen_optional[i] |= obj.contains_key(k.as_str());
            }
        }
        let text_of = |key: Option<&String>| -> String {
            match key.and_then(|k| obj.get(k.as_str())) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(serde_json::Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            }
        };
        let (ts, user, session, event, device, channel, value) = (
            text_of(Some(&f.timestamp)),
            text_of(Some(&f.user_id)),
            text_of(f.session_id.as_ref()),
            text_of(Some(&f.event_name)),
            text_of(f.device.as_ref()),
            text_of(f.channel.as_ref()),
            text_of(f.value.as_ref()),
        );
        let raw = RawRow {
            line,
            order: None,
            timestamp: &ts,
            user: &user,
            session: &session,
            event: &event,
            device: &device,
            channel: &channel,
            value: &value,
        };
        state.row(raw, sink)?;
    }
    state.finish(sink)?;
    for (i, name) in ["session_id", "device", "channel", "value"]
        .iter()
        .enumerate()
    {
        if optional[i].is_some() && !seen_optional[i] {
            state.summary.absent_fields.push(name.to_string());
        }
    }
    Ok(())
}
