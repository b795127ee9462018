//! Parsing on one thread and observing on another, in batches of packed events.

use super::*;

/// Events per batch handed from the parsing thread to the observing one.
pub(super) const BATCH_EVENTS: usize = 4096;
/// Batches in flight: enough to ride out jitter, few enough to keep memory flat.
pub(super) const BATCHES_IN_FLIGHT: usize = 4;

/// A batch of parsed events, their strings packed in one buffer (reused across batches), with
/// the tags the parsing thread's `prepare` gave them.
pub(super) struct Batch<T> {
    text: String,
    events: Vec<PackedEvent>,
    tags: Vec<T>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            text: String::new(),
            events: Vec::new(),
            tags: Vec::new(),
        }
    }
}

/// An [`Event`] whose strings are ranges of [`Batch::text`]; absent optional fields are
/// empty ranges with `u32::MAX` as start.
pub(super) struct PackedEvent {
    line: u64,
    seq: u64,
    micros: i64,
    value: Option<f64>,
    fields: [(u32, u32); 5],
}

pub(super) const ABSENT: (u32, u32) = (u32::MAX, 0);

impl<T> Batch<T> {
    fn push(&mut self, ev: &Event<'_>, tag: T) {
        self.tags.push(tag);
        let mut put = |s: Option<&str>| match s {
            None => ABSENT,
            Some(s) => {
                let at = self.text.len() as u32;
                self.text.push_str(s);
                (at, s.len() as u32)
            }
        };
        let fields = [
            put(Some(ev.user)),
            put(ev.session),
            put(Some(ev.name)),
            put(ev.device),
            put(ev.channel),
        ];
        self.events.push(PackedEvent {
            line: ev.line,
            seq: ev.seq,
            micros: ev.micros,
            value: ev.value,
            fields,
        });
    }

    fn clear(&mut self) {
        self.text.clear();
        self.events.clear();
        self.tags.clear();
    }

    /// Calls `f` with every event of the batch and its tag, in order (the tags are moved out).
    fn for_each(&mut self, mut f: impl FnMut(&Event<'_>, T)) {
        let text = self.text.as_str();
        let get = |(at, len): (u32, u32)| {
            (at != u32::MAX).then(|| text.get(at as usize..(at + len) as usize).unwrap_or(""))
        };
        for (p, tag) in self.events.iter().zip(self.tags.drain(..)) {
            let [user, session, name, device, channel] = p.fields;
            f(
                &Event {
                    line: p.line,
                    seq: p.seq,
                    micros: p.micros,
                    user: get(user).unwrap_or(""),
                    session: get(session),
                    name: get(name).unwrap_or(""),
                    device: get(device),
                    channel: get(channel),
                    value: p.value,
                },
                tag,
            );
        }
    }
}

/// Parses on a scoped thread, observes on this one (see [`read_log`]). Rows the sink rejects
/// are counted here, after the parser's own skips; the two never share a reason.
pub(super) fn read_pipelined<T: Send>(
    spec: &LogSpec,
    reader: Box<dyn Read + Send>,
    prepare: &mut (impl FnMut(&Event<'_>) -> Option<T> + Send),
    sink: &mut impl FnMut(&Event<'_>, T) -> Result<(), SkipReason>,
) -> Result<ReadSummary, SourceError> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch<T>>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch<T>>();
    let mut rejected: Vec<(SkipReason, u64)> = Vec::new();
    let parsed = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut state = RowState::new(spec);
            let mut batch = Batch::default();
            let mut closed = false;
            let mut pack = |ev: &Event<'_>| {
                if closed {
                    return Ok(());
                }
                let Some(tag) = prepare(ev) else {
                    return Ok(());
                };
                batch.push(ev, tag);
                if batch.events.len() >= BATCH_EVENTS {
                    let next = empty_rx.try_recv().unwrap_or_default();
                    closed = full_tx.send(std::mem::replace(&mut batch, next)).is_err();
                }
                Ok(())
            };
            let r = parse_into(spec, reader, &mut state, &mut pack);
            if !batch.events.is_empty() {
                let _ = full_tx.send(batch);
            }
            drop(full_tx);
            r.map(|()| {
                state.summary.timestamp_format = state.format.to_string();
                state.summary
            })
        });
        for mut batch in full_rx.iter() {
            batch.for_each(|ev, tag| {
                if let Err(reason) = sink(ev, tag) {
                    rejected.push((reason, ev.line));
                }
            });
            batch.clear();
            let _ = empty_tx.send(batch);
        }
        parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let mut summary = parsed?;
    summary.rows_accepted -= rejected.len() as u64;
    for (reason, line) in rejected {
        summary.skip(reason, line);
    }
    Ok(summary)
}
