//! The physical floor of reading a CSV log: a bare record scan with the csv crate (one reused
//! `ByteRecord`, no parsing of fields), counting records and bytes. The benchmark harness times
//! it against `optsignal recommend` on the same file.
//!
//! `cargo run --release --example csv_scan -- FILE.csv`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: csv_scan FILE.csv")?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_path(&path)?;
    let mut rec = csv::ByteRecord::new();
    let (mut rows, mut bytes) = (0u64, 0u64);
    while rdr.read_byte_record(&mut rec)? {
        rows += 1;
        bytes += rec.as_slice().len() as u64;
    }
    println!("{rows} records, {bytes} field bytes");
    Ok(())
}
