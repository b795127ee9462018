use super::*;
use std::io::Write;

fn write(name: &str, body: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(body).unwrap();
    (dir, p)
}

type Collected = (Vec<(i64, String, String)>, ReadSummary);

fn collect(spec: &LogSpec) -> Result<Collected, SourceError> {
    let mut out = Vec::new();
    let s = read_log(spec, |e| {
        out.push((e.micros, e.user.to_string(), e.name.to_string()));
        Ok(())
    })?;
    Ok((out, s))
}

#[test]
fn reads_canonical_csv_and_counts_bad_rows() {
    let body = b"timestamp,user_id,session_id,event_name,device,channel,value\n\
2026-09-07T08:00:00Z,u1,s1,view_item,mobile,email,\n\
not-a-time,u1,s1,add_to_cart,mobile,email,\n\
2026-09-07T08:01:00Z,,s1,add_to_cart,mobile,email,\n\
2026-09-07T08:02:00Z,u1,s1,purchase,mobile,email,abc\n\
2026-09-07T08:03:00Z,u1,s1\n\
2026-09-07T08:04:00Z,u1,s1,purchase,mobile,email,12.50\n";
    let (_d, p) = write("log.csv", body);
    let (events, s) = collect(&LogSpec::canonical(&p)).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(s.rows_read, 6);
    assert_eq!(s.skipped_total(), 4);
    assert_eq!(
        s.rows_skipped[&SkipReason::BadTimestamp].first_lines,
        vec![3]
    );
    assert_eq!(
        s.rows_skipped[&SkipReason::MissingUserId].first_lines,
        vec![4]
    );
    assert_eq!(s.rows_skipped[&SkipReason::BadValue].first_lines, vec![5]);
    assert_eq!(
        s.rows_skipped[&SkipReason::MalformedRow].first_lines,
        vec![6]
    );
}

/// Every event (all fields) and the summary (or error) of `spec`'s file, read by the csv
/// crate's path and by the fast path.
fn both_paths(spec: &LogSpec) -> [(Vec<String>, String); 2] {
    [false, true].map(|fast| {
        let mut events = Vec::new();
        let mut state = RowState::new(spec);
        let reader = open(&spec.path, false).unwrap();
        let mut sink = |e: &Event<'_>| {
            events.push(format!("{e:?}"));
            Ok(())
        };
        let r = if fast {
            read_csv_fast(spec, reader, b',', &mut state, &mut sink)
        } else {
            read_csv(spec, reader, b',', &mut state, &mut sink)
        };
        (
            events,
            format!("{r:?} {:?} {}", state.summary, state.format),
        )
    })
}

#[test]
fn the_fast_path_reads_tricky_csv_as_the_csv_crate_does() {
    let mut body =
        b"\xef\xbb\xbftimestamp,user_id,session_id,event_name,device,channel,value\r\n".to_vec();
    for i in 0..250 {
        body.extend(
            format!(
                "2026-09-07T08:{:02}:{:02}Z,u{},s{},view_item,mobile,email,\r\n",
                i / 60,
                i % 60,
                i % 7,
                i % 3
            )
            .bytes(),
        );
    }
    body.extend(b"2026-09-07T09:00:00Z,\"u,1\",s1,purchase,mobile,\"paid \"\"social\"\"\",12.5\n");
    body.extend(b"2026-09-07T09:01:00Z,\"u\n2\",s2,add_to_cart,,,\n");
    body.extend(b"\n\r\n2026-09-07T09:02:00Z,u3,,add_to_cart,,,\n");
    body.extend(b"2026-09-07T09:03:00Z,u\xff,s3,add_to_cart,,,\n");
    body.extend(b"2026-09-07T09:04:00Z,u4,s4,add_to_cart\n");
    body.extend(b"\"\"\n");
    body.extend(b"2026-09-07T09:05:00Z,u5,s5,purchase,desktop,email,abc\n");
    body.extend(
        b"2026-09-07T09:06:00Z,u6,s6,purchase,desktop,email,3\r2026-09-07T09:07:00Z,u7,s7,x,,,\n",
    );
    body.extend(b"2026-09-07T09:08:00Z, u8 ,s8,view_item,desktop,email,");
    let (_d, p) = write("log.csv", &body);
    let [slow, fast] = both_paths(&LogSpec::canonical(&p));
    assert!(slow.0.len() > 250, "{}", slow.1);
    assert_eq!(fast, slow);
    // Header-less with configured columns.
    let mut spec = LogSpec::canonical(&p);
    spec.columns = Some(
        [
            "timestamp",
            "user_id",
            "session_id",
            "event_name",
            "device",
            "channel",
            "value",
        ]
        .map(String::from)
        .to_vec(),
    );
    let [slow, fast] = both_paths(&spec);
    assert_eq!(fast, slow);
}

#[test]
fn the_fast_path_reads_the_demo_log_as_the_csv_crate_does() {
    let mut body = Vec::new();
    crate::demo::generate(&crate::demo::DemoSpec::default(), &mut body).unwrap();
    let (_d, p) = write("demo.csv", &body);
    let [slow, fast] = both_paths(&LogSpec::canonical(&p));
    assert!(slow.0.len() > 100_000);
    assert_eq!(fast, slow);
}

#[test]
fn strict_stops_at_the_first_bad_row_with_its_line() {
    let body = b"timestamp,user_id,event_name\n1511658000,u,pv\nxx,u,pv\n";
    let (_d, p) = write("log.csv", body);
    let mut spec = LogSpec::canonical(&p);
    spec.strict = true;
    let err = collect(&spec).unwrap_err().to_string();
    assert!(err.contains(":3:"), "{err}");
}

#[test]
fn header_less_with_aliases_like_taobao() {
    let body = b"1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n";
    let (_d, p) = write("taobao.csv", body);
    let mut spec = LogSpec::canonical(&p);
    spec.columns = Some(
        ["user_id", "item_id", "category_id", "behavior", "ts"]
            .map(String::from)
            .to_vec(),
    );
    spec.fields.timestamp = "ts".into();
    spec.fields.event_name = "behavior".into();
    spec.aliases
        .insert("pv".into(), EventName::new("view_item").unwrap());
    spec.aliases
        .insert("buy".into(), EventName::new("purchase").unwrap());
    let (events, s) = collect(&spec).unwrap();
    assert_eq!(
        events[0],
        (1_511_544_070_000_000, "1".into(), "view_item".into())
    );
    assert_eq!(events[1].2, "purchase");
    assert_eq!(s.timestamp_format, "unix_s");
    assert!(s.absent_fields.contains(&"session_id".to_string()));
}

#[test]
fn clear_errors_for_missing_file_empty_file_missing_column_unknown_format() {
    let e = collect(&LogSpec::canonical("/nonexistent/x.csv")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.csv"), "{e}");
    let (_d, p) = write("empty.csv", b"");
    assert!(matches!(
        collect(&LogSpec::canonical(&p)),
        Err(SourceError::Empty { .. })
    ));
    let (_d2, p2) = write("h.csv", b"timestamp,user_id,event_name\n");
    assert!(matches!(
        collect(&LogSpec::canonical(&p2)),
        Err(SourceError::Empty { .. })
    ));
    let (_d3, p3) = write("c.csv", b"time,user_id,event_name\n1,u,pv\n");
    let e = collect(&LogSpec::canonical(&p3)).unwrap_err().to_string();
    assert!(
        e.contains("\"timestamp\"") && e.contains("time, user_id, event_name"),
        "{e}"
    );
    let (_d4, p4) = write(
        "f.csv",
        b"timestamp,user_id,event_name\nlast tuesday,u,pv\n",
    );
    let e = collect(&LogSpec::canonical(&p4)).unwrap_err().to_string();
    assert!(e.contains("last tuesday") && e.contains(":2"), "{e}");
}

#[test]
fn bounded_line_stops_before_holding_an_over_long_line() {
    let mut input = std::io::BufReader::with_capacity(8, &b"short\nway too long a line\nx"[..]);
    let mut out = Vec::new();
    assert_eq!(bounded_line(&mut input, &mut out, 10).unwrap(), 6);
    assert_eq!(out, b"short\n");
    out.clear();
    let e = bounded_line(&mut input, &mut out, 10).unwrap_err();
    assert!(is_too_long(&e));
    assert!(out.len() <= 10, "{}", out.len());
}

#[test]
fn sampled_format_survives_a_bad_first_row_and_strays_are_set_aside() {
    let mut body = b"timestamp,user_id,event_name\n1511658000,u,pv\n".to_vec();
    for i in 0..300 {
        body.extend(format!("2017-11-26T00:{:02}:{:02}Z,u{i},pv\n", i / 60, i % 60).bytes());
    }
    // A stray far beyond the bulk, after the sample.
    body.extend(b"2019-01-01T00:00:00Z,s,pv\n");
    for i in 0..1000 {
        body.extend(
            format!(
                "2017-11-26T06:{:02}:{:02}Z,v{i},pv\n",
                (i / 60) % 60,
                i % 60
            )
            .bytes(),
        );
    }
    let (_d, p) = write("log.csv", &body);
    let mut spec = LogSpec::canonical(&p);
    spec.plausible.not_before = 0;
    let (events, s) = collect(&spec).unwrap();
    assert_eq!(s.timestamp_format, "rfc3339");
    assert_eq!(
        s.rows_skipped[&SkipReason::BadTimestamp].first_lines,
        vec![2]
    );
    assert_eq!(
        s.rows_skipped[&SkipReason::ImplausibleTimestamp].first_lines,
        vec![303]
    );
    assert_eq!(events.len(), 1300);
}

#[test]
fn reads_json_lines_and_gzip() {
    let body = b"{\"timestamp\": 1511544070000, \"user_id\": 7, \"event_name\": \"add_to_cart\"}\n\
{not json}\n\
{\"timestamp\": \"2017-11-24T17:21:10Z\", \"user_id\": \"7\", \"event_name\": \"purchase\", \"value\": 9.5}\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(body).unwrap();
    gz.finish().unwrap();
    let mut spec = LogSpec::canonical(&p);
    assert_eq!(spec.format, LogFormat::JsonLines);
    // The two rows use different formats: fix the format so the second is read too.
    spec.timestamp_format = TimestampFormat::UnixMillis;
    let (events, s) = collect(&spec).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1, "7");
    assert_eq!(
        s.rows_skipped[&SkipReason::MalformedRow].first_lines,
        vec![2]
    );
    assert_eq!(s.rows_skipped[&SkipReason::BadTimestamp].count, 1);
}
