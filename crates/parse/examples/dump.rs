//! Print what brain-parse makes of files: format, warnings, and each section's location, context
//! and the start of its text.
//!
//! cargo run -p brain-parse --example dump -- FILE... [--full] [--tables]
//!
//! `--tables` prints instead the tables a query may run over (sheets, PDF tables read surely).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let tables = args.iter().any(|a| a == "--tables");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let path = std::path::Path::new(path);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                println!("{}: cannot read: {e}", path.display());
                continue;
            }
        };
        let parsed = if tables { brain_parse::parse_keeping_tables(path, &bytes) } else { brain_parse::parse(path, &bytes) };
        match parsed {
            Err(e) => println!("{}: ERROR {e}", path.display()),
            Ok(doc) if tables => {
                for t in &doc.tables {
                    println!("=== {} {:?} caption {:?}\n{}", t.sheet, t.page, t.caption, t.columns.join(" | "));
                    for r in &t.rows {
                        println!("{}: {}", r.row, r.cells.join(" | "));
                    }
                }
            }
            Ok(doc) => {
                println!("{}: {} with {} section(s); warnings {:?}", path.display(), doc.format.as_str(), doc.sections.len(), doc.warnings);
                for s in &doc.sections {
                    let text: String = if full { s.text.clone() } else { s.text.chars().take(300).collect() };
                    println!("--- [{}] context={:?} first_line={:?}\n{text}", s.location.describe(), s.context, s.first_line);
                }
            }
        }
    }
}
