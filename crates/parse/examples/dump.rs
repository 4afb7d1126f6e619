//! Print what brain-parse makes of files: format, warnings, and each section's location, context
//! and the start of its text.
//!
//! cargo run -p brain-parse --example dump -- FILE... [--full]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let path = std::path::Path::new(path);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                println!("{}: cannot read: {e}", path.display());
                continue;
            }
        };
        match brain_parse::parse(path, &bytes) {
            Err(e) => println!("{}: ERROR {e}", path.display()),
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
