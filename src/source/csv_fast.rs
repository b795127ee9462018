//! A CSV record reader for the common shape of event logs: lines without quotes are split on the
//! delimiter with `memchr`, in place, with no per-field copy; a line holding a quote or a stray
//! carriage return is handed to `csv_core` (the csv crate's own parser), which reads the record to
//! its end however many lines it spans.
//!
//! It yields exactly the records of `csv::Reader` (no headers, flexible, CRLF terminators, a
//! leading UTF-8 BOM stripped, blank lines skipped), with the same line numbers (the csv crate's
//! record positions: one plus the newlines consumed before the record's read starts, so after a
//! CRLF line the `\n` counts only in the next record's read). Tests below compare the two on
//! tricky inputs.

use std::io::Read;

/// Bytes asked of the underlying reader at a time.
const CHUNK: usize = 1 << 18;

/// One step of [`FastCsv::next_record`].
pub(crate) enum Step<'a> {
    /// No more records.
    End,
    /// A record: its line and its fields (ranges of `text`).
    Record(Rec<'a>),
    /// A record with a field that is not UTF-8, at this line.
    NotUtf8 {
        /// The record's line.
        line: u64,
        /// Index of the first bad field and the byte where it stops being valid.
        field: usize,
        /// Valid bytes of that field.
        valid_up_to: usize,
    },
    /// A record longer than the limit, starting at this line.
    TooLong(u64),
}

/// A record's fields as ranges of one text.
pub(crate) struct Rec<'a> {
    /// The record's line, as the csv crate numbers it.
    pub(crate) line: u64,
    text: &'a str,
    fields: &'a [(u32, u32)],
}

impl<'a> Rec<'a> {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i`, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        let &(a, b) = self.fields.get(i)?;
        self.text.get(a as usize..b as usize)
    }

    /// Every field in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }
}

/// Reads CSV records from `R` (see the module documentation).
pub(crate) struct FastCsv<R> {
    inner: R,
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[head..tail]`.
    head: usize,
    tail: usize,
    eof: bool,
    delimiter: u8,
    core: csv_core::Reader,
    /// `csv_core`'s output for the current record and its field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The current record's fields (validated text of a `csv_core` record).
    text: String,
    fields: Vec<(u32, u32)>,
    /// The csv crate's line counter: one plus the newlines consumed so far.
    line: u64,
    /// Bytes consumed so far.
    consumed: u64,
    /// Whether the leading BOM check was done.
    started: bool,
}

impl<R: Read> FastCsv<R> {
    /// A reader with this delimiter (quote `"`, doubled quotes, no escape, as in the csv crate).
    pub(crate) fn new(inner: R, delimiter: u8) -> Self {
        let mut core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        // A first (blank) read, so that csv_core never strips a BOM from a later record.
        let _ = core.read_record(b"\n", &mut [0u8; 1], &mut [0usize; 1]);
        FastCsv {
            inner,
            buf: vec![0; CHUNK],
            head: 0,
            tail: 0,
            eof: false,
            delimiter,
            core,
            out: vec![0; 1024],
            ends: vec![0; 32],
            text: String::new(),
            fields: Vec::new(),
            line: 1,
            consumed: 0,
            started: false,
        }
    }

    /// Bytes consumed so far (the csv crate's `position().byte()`).
    #[cfg(test)]
    fn position(&self) -> u64 {
        self.consumed
    }

    /// Reads more input after `tail`, first moving the unconsumed bytes to the front (growing
    /// the buffer when it is full). False at the end of the input.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.head > 0 {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        if self.tail == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.tail..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.tail += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Consumes `n` bytes that hold `newlines` line feeds.
    fn consume(&mut self, n: usize, newlines: u64) {
        self.head += n;
        self.consumed += n as u64;
        self.line += newlines;
    }

    /// The next record; a record (with the blank lines before it) longer than `limit` bytes is
    /// [`Step::TooLong`], found before more than `limit` plus one read is held in memory.
    pub(crate) fn next_record(&mut self, limit: usize) -> std::io::Result<Step<'_>> {
        let (at, line) = (self.consumed, self.line);
        if !self.started {
            self.started = true;
            while self.tail - self.head < 3 && self.fill()? {}
            if self.buf[self.head..self.tail].starts_with(b"\xef\xbb\xbf") {
                self.consume(3, 0);
            }
        }
        // Blank lines (any run of CR and LF) before the record, as csv_core skips them.
        loop {
            if self.head == self.tail && !self.fill()? {
                return Ok(Step::End);
            }
            match self.buf[self.head] {
                b'\n' => self.consume(1, 1),
                b'\r' => self.consume(1, 0),
                _ => break,
            }
        }
        let limit = limit as u64;
        // The line's end: the next LF, or the end of the input.
        let mut scanned = 0;
        let nl = loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.head + scanned..self.tail]) {
                break self.head + scanned + i;
            }
            scanned = self.tail - self.head;
            if (self.consumed - at) + scanned as u64 > limit {
                return Ok(Step::TooLong(line));
            }
            if !self.fill()? {
                break self.tail;
            }
        };
        let body = &self.buf[self.head..nl];
        let simple = match memchr::memchr2(b'"', b'\r', body) {
            None => Some((body.len(), nl < self.tail)),
            // A CR ending the line ends the record (csv_core's CRLF); the LF after it is left
            // to the next read, as csv_core does.
            Some(p) if p + 1 == body.len() && body[p] == b'\r' => Some((p, false)),
            Some(_) => None,
        };
        let Some((len, lf)) = simple else {
            return self.core_record(at, line, limit);
        };
        let start = self.head;
        // The terminator consumed with the record: the CR, or the LF, or nothing at the end.
        let term = usize::from(lf || nl != start + len);
        self.consume(len + term, u64::from(lf));
        if self.consumed - at > limit {
            return Ok(Step::TooLong(line));
        }
        let body = &self.buf[start..start + len];
        self.fields.clear();
        let mut from = 0u32;
        for i in memchr::memchr_iter(self.delimiter, body) {
            self.fields.push((from, i as u32));
            from = i as u32 + 1;
        }
        self.fields.push((from, len as u32));
        match std::str::from_utf8(body) {
            Ok(text) => Ok(Step::Record(Rec {
                line,
                text,
                fields: &self.fields,
            })),
            Err(e) => {
                // The first field holding the bad byte, as the csv crate reports it.
                let bad = e.valid_up_to();
                let field = self.fields.iter().position(|&(_, b)| b as usize >= bad);
                let field = field.unwrap_or(0);
                let valid_up_to = std::str::from_utf8(
                    &body[self.fields[field].0 as usize..self.fields[field].1 as usize],
                )
                .err()
                .map_or(0, |e| e.valid_up_to());
                Ok(Step::NotUtf8 {
                    line,
                    field,
                    valid_up_to,
                })
            }
        }
    }

    /// Reads the record at `head` with `csv_core` (quoted fields, stray CRs), to its end.
    fn core_record(&mut self, at: u64, line: u64, limit: u64) -> std::io::Result<Step<'_>> {
        use csv_core::ReadRecordResult as R;
        let (mut nout, mut nend) = (0, 0);
        loop {
            let input = &self.buf[self.head..self.tail];
            let (res, i, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            let newlines = memchr::memchr_iter(b'\n', &input[..i]).count() as u64;
            self.consume(i, newlines);
            nout += o;
            nend += e;
            match res {
                R::InputEmpty => {
                    if self.consumed - at > limit {
                        return Ok(Step::TooLong(line));
                    }
                    if self.head == self.tail {
                        self.fill()?;
                    }
                }
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => break,
                R::End => return Ok(Step::End),
            }
        }
        if self.consumed - at > limit {
            return Ok(Step::TooLong(line));
        }
        self.text.clear();
        self.fields.clear();
        let mut from = 0;
        for (k, &end) in self.ends[..nend].iter().enumerate() {
            match std::str::from_utf8(&self.out[from..end]) {
                Ok(s) => {
                    let a = self.text.len() as u32;
                    self.text.push_str(s);
                    self.fields.push((a, self.text.len() as u32));
                }
                Err(e) => {
                    return Ok(Step::NotUtf8 {
                        line,
                        field: k,
                        valid_up_to: e.valid_up_to(),
                    })
                }
            }
            from = end;
        }
        Ok(Step::Record(Rec {
            line,
            text: &self.text,
            fields: &self.fields,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records read (line and fields, or the line of a record that is not UTF-8) and the final
    /// byte position.
    type Records = (Vec<Result<(u64, Vec<String>), u64>>, u64);

    /// What the csv crate reads (as `read_csv` configures it): per record, its line and fields,
    /// or `Err(line)` for a record that is not UTF-8; and the final byte position.
    fn by_csv_crate(input: &[u8]) -> Records {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(7)
            .from_reader(input);
        let mut rec = csv::StringRecord::new();
        let mut out = Vec::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => out.push(Ok((
                    rec.position().unwrap().line(),
                    rec.iter().map(String::from).collect(),
                ))),
                Ok(false) => break,
                Err(e) => out.push(Err(e.position().unwrap().line())),
            }
        }
        (out, rdr.position().byte())
    }

    /// The same with [`FastCsv`], reading `chunk` bytes at a time.
    fn by_fast(input: &[u8], chunk: usize) -> Records {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = FastCsv::new(Trickle(input, chunk), b',');
        let mut out = Vec::new();
        loop {
            match r.next_record(usize::MAX).unwrap() {
                Step::End => break,
                Step::Record(rec) => {
                    out.push(Ok((rec.line, rec.iter().map(String::from).collect())))
                }
                Step::NotUtf8 { line, .. } => out.push(Err(line)),
                Step::TooLong(_) => unreachable!(),
            }
        }
        (out, r.position())
    }

    fn same(input: &[u8]) {
        let want = by_csv_crate(input);
        for chunk in [1, 2, 3, 5, 64, 1 << 20] {
            assert_eq!(
                by_fast(input, chunk),
                want,
                "{:?} chunk {chunk}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn tricky_inputs_read_as_the_csv_crate_reads_them() {
        for input in [
            &b""[..],
            b"\n",
            b"a",
            b"a,b\nc,d",
            b"a,b\nc,d\n",
            b"a,b\r\nc,d\r\n",
            b"a,b\r\n\r\nc,d\r\n\n\n",
            b"a,b\rc,d\r",
            b"a,\"b,c\",d\ne,f,g\n",
            b"a,\"b\nc\",d\ne,f,g\n",
            b"a,\"b\"\"c\",d\n",
            b"a,b\"c,d\n",
            b"\"\"\nx\n",
            b",,\n,\n\n,",
            b"\xef\xbb\xbfts,user\n1,u\n",
            b"\xef\xbb\xbf\xef\xbb\xbfts\n",
            b"x\n\xef\xbb\xbfy\n",
            b"x\n\xef\xbb\xbf\"y\"\n",
            b"a,\xff,b\nc,d\n",
            b"a,\"\xff\",b\nc,d\n",
            b"\xc3,\xa9\n",
            b"caf\xc3\xa9,\xc3\xa9t\xc3\xa9\n",
            b"a,b\r\rc\n",
            b"\"unterminated,a\nb\n",
            b"a\r",
            b"a\r\n",
            b"\r\n\r\na",
        ] {
            same(input);
        }
    }

    #[test]
    fn utf8_errors_name_the_field_the_csv_crate_names() {
        let input = b"ok,caf\xc3\xa9,b\xffad,z\n";
        let mut r = FastCsv::new(&input[..], b',');
        match r.next_record(usize::MAX).unwrap() {
            Step::NotUtf8 {
                line,
                field,
                valid_up_to,
            } => assert_eq!((line, field, valid_up_to), (1, 2, 1)),
            _ => panic!("not a UTF-8 error"),
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&input[..]);
        let e = rdr.records().next().unwrap().unwrap_err().to_string();
        assert!(e.contains("field 2 near byte index 1"), "{e}");
    }

    #[test]
    fn an_over_long_record_stops_before_it_is_held() {
        let mut input = b"a,b\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\nc,d\n");
        let mut r = FastCsv::new(&input[..], b',');
        assert!(matches!(r.next_record(100).unwrap(), Step::Record(_)));
        assert!(matches!(r.next_record(100).unwrap(), Step::TooLong(2)));
        assert!(r.buf.len() <= CHUNK, "{}", r.buf.len());
        let mut quoted = b"a,b\n\"".to_vec();
        quoted.extend(std::iter::repeat_n(b'x', 10_000));
        let mut r = FastCsv::new(&quoted[..], b',');
        assert!(matches!(r.next_record(100).unwrap(), Step::Record(_)));
        assert!(matches!(r.next_record(100).unwrap(), Step::TooLong(2)));
    }

    /// Pieces the property test builds inputs from: every byte class the parser treats apart.
    const PIECES: [&[u8]; 13] = [
        b",",
        b"\"",
        b"\n",
        b"\r",
        b"\r\n",
        b"ab",
        b"x",
        b" ",
        b"\xc3\xa9",
        b"\xc3",
        b"\xff",
        b"\xef\xbb\xbf",
        b"2026-09-07T08:00:00Z",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn any_input_reads_as_the_csv_crate_reads_it(
            picks in proptest::collection::vec(0..PIECES.len(), 0..40)
        ) {
            let parts: Vec<&[u8]> = picks.iter().map(|&i| PIECES[i]).collect();
            let input: Vec<u8> = parts.concat();
            same(&input);
        }
    }
}
