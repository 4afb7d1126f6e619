//! Print E5 vectors for lines "q<TAB>text" / "p<TAB>text" on stdin (compare with a reference).
fn main() {
    let path = std::env::args().nth(1).expect("model file");
    let model = brain_embed::e5::E5Model::load(std::path::Path::new(&path)).unwrap();
    for line in std::io::stdin().lines() {
        let line = line.unwrap();
        let kind = if line.starts_with('q') { brain_embed::TextKind::Query } else { brain_embed::TextKind::Passage };
        let text = &line[2..];
        let ids = model
            .tokenizer()
            .encode(model.normalise(&format!("{}{text}", if kind == brain_embed::TextKind::Query { "query: " } else { "passage: " })), true)
            .unwrap();
        eprintln!("{:?}", ids.get_ids());
        let v = &model.embed(&[text], kind).unwrap()[0];
        println!("{}", v.iter().map(|x| format!("{x:.6}")).collect::<Vec<_>>().join(" "));
    }
}
