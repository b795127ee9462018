//! Generates the default demo store and prints its per-week counts, sizes and generation time.
//!
//! `cargo run --release --example demo_store -- [OUT.csv.gz]`

use std::time::Instant;

use optsignal::demo::{self, DemoSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = DemoSpec::default();
    let t = Instant::now();
    let mut csv = Vec::new();
    let summary = demo::generate(&spec, &mut csv)?;
    let csv_time = t.elapsed();
    let out = std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join("optsignal-demo.csv.gz")
            .display()
            .to_string()
    });
    let t = Instant::now();
    demo::write_gz(&spec, std::path::Path::new(&out))?;
    let gz_time = t.elapsed();
    let gz_len = std::fs::metadata(&out)?.len();

    let cols = [
        "view_item",
        "add_to_wishlist",
        "add_to_cart",
        "begin_checkout",
        "add_shipping_info",
        "add_payment_info",
        "purchase",
        "sign_up",
    ];
    print!("{:<9}", "week");
    for c in cols {
        print!(" {c:>17}");
    }
    println!(" {:>9} {:>9}", "sessions", "rows");
    for w in &summary.weeks {
        print!("{:<9}", w.week.to_string());
        for c in cols {
            print!(" {:>17}", w.sessions_with(c));
        }
        let rows: u64 = w.events.values().map(|c| c.rows).sum();
        println!(" {:>9} {:>9}", w.sessions, rows);
    }
    println!("(cells: sessions started that week with the event)");
    println!(
        "rows {} sessions {} users {} purchases {} revenue {:.2} EUR",
        summary.rows,
        summary.sessions,
        summary.users,
        summary.purchases,
        summary.revenue_cents as f64 / 100.0
    );
    println!(
        "csv {} bytes in {:.1} ms; gz {} bytes in {:.1} ms -> {}",
        csv.len(),
        csv_time.as_secs_f64() * 1e3,
        gz_len,
        gz_time.as_secs_f64() * 1e3,
        out
    );
    Ok(())
}
