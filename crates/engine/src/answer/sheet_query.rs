//! Questions over a sheet answered by a query: a count, a sum, an average, the largest five, the
//! rows that match a filter. Retrieval hands the answer model a few rows of a sheet, so "how many
//! depots have more than ten vans?" over a 200-row sheet would be answered from a dozen; here the
//! answer model (Qwen2.5-Coder is a code model) writes one SQL query, and the engine runs it over
//! every row of the sheet, read-only, in DataFusion (already in the tree under LanceDB), and shows
//! the result with the query and the rows it read.
//!
//! A table of a PDF's text layer is queried the same way ("which segment had the highest
//! operating income?") when the setting `pdf_table_queries` is on (it is off by default: on real
//! filings the default model chose the wrong table or wrote a wrong query more often than it
//! helped, and a query's result is shown without the claim check), the parser is sure of the
//! table's structure — every column under a header of its own, a label and one figure per cell
//! in every row — and the question computes over its rows without naming one of them whole: a
//! statement's own line ("total net sales", "net revenue") is read from the passage, where the
//! answer's check sees it.
//!
//! Key design decisions:
//! - The sheet is read again from the file (in a parse worker, like indexing), as a typed Arrow
//!   table: a column whose cells are nearly all numbers ("1,577", "(484.11)", "$12", "7%") is a
//!   number column, else text. Column names are made plain SQL names (`fuel_budget_eur`) so that
//!   a small model need not quote them; the prompt gives each with its header's own words.
//! - The model's SQL is data, not a program: only a query is run (no DDL, no DML, no statements),
//!   over one in-memory table, within a time and a memory limit; it can read nothing else.
//! - Which rows the query read is found from its own plan: the filter over the table, run alone
//!   for the row numbers (all rows when it has none), so the answer cites those rows.
//! - Anything that fails (no sheet among the sources, a question naming someone or something the
//!   table's file does not, a model that writes no query, a query that does not run, reads no
//!   row or returns nothing) falls back to the answer from passages, and its check.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brain_llm::{ChatMessage, GenerateOptions, Role};
use brain_parse::{Table, TableRow};
use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use serde::{Deserialize, Serialize};

use super::{Answer, AnswerEvent, AnswerStop, AnswerTimings, Citation};
use crate::inference::Generate;
use crate::retrieval::Hit;
use crate::table_row;
use crate::{AnswerSink, Engine};
use brain_parse::Location;

/// A query run over a sheet (or a PDF's table) to answer a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SheetQuery {
    /// The SQL as it ran (the table is named `sheet`).
    pub sql: String,
    /// The file and the sheet it ran over.
    pub path: String,
    pub sheet: String,
    /// The result: its column names and (at most [`RESULT_ROWS`]) rows.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows of the result not in `rows`.
    pub more_rows: usize,
    /// How many rows of the sheet the query read (those its filter kept; all without one).
    pub rows_read: usize,
    /// The first and last of them (sheet row numbers, 1-based).
    pub rows_range: Option<[u32; 2]>,
}

/// Most result rows kept and shown.
pub const RESULT_ROWS: usize = 20;
/// How long a query may run.
const QUERY_TIME: Duration = Duration::from_secs(10);
/// Memory a query may use (a cross join of a sheet with itself stops here).
const QUERY_MEMORY: usize = 256 << 20;
/// Most rows a citation quotes.
const CITED_ROWS: usize = 40;
/// The sheet's hidden column of row numbers.
const ROW: &str = "__row";
/// Rows of the sheet shown to the model as examples.
const EXAMPLE_ROWS: usize = 3;
/// Most values of a text column listed to the model (a region, a segment; not every name).
const LISTED_VALUES: usize = 12;

/// Cues that ask for a computation over a sheet but only name a line of a PDF statement, which
/// has its totals printed ("What were total net sales …?").
const A_STATEMENT_LINE: &[&str] = &["total", "sum", "combined", "altogether"];

/// Whether a question asks for something computed over the rows of a table.
pub(crate) fn asks_over_rows(question: &str) -> bool {
    table_row::over_rows_cues(question).next().is_some()
}

/// Whether a question asks for something computed over the rows of a PDF's table: a cue that
/// is not also how a statement's own line is named.
fn asks_over_statement_rows(question: &str) -> bool {
    table_row::over_rows_cues(question).any(|cue| !A_STATEMENT_LINE.contains(&cue))
}

/// The kind of a column, as its cells show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Decimal,
    Text,
}

/// A sheet made ready for SQL: its columns' SQL names, header words and kinds, and the rows.
pub(crate) struct SheetTable {
    names: Vec<String>,
    headers: Vec<String>,
    kinds: Vec<Kind>,
    table: Table,
}

/// Whether a row is a total of the rows above it: its first cell that holds something says
/// "Total", "Subtotal" or "Grand total".
fn is_total(row: &TableRow) -> bool {
    row.cells.iter().map(|c| c.trim().to_lowercase()).find(|c| !c.is_empty()).is_some_and(|label| {
        let label = label.trim_end_matches(':');
        ["total", "subtotal", "sub-total", "grand total", "totals"].iter().any(|t| label == *t || label.starts_with(&format!("{t} ")))
    })
}

/// A row's cell `i`, trimmed; `None` when it is empty, missing or a dash (a statement's "—",
/// nothing to report).
fn cell(row: &TableRow, i: usize) -> Option<&str> {
    row.cells.get(i).map(|c| c.trim()).filter(|c| !c.is_empty() && !matches!(*c, "—" | "–" | "-"))
}

const CURRENCY: [char; 4] = ['$', '€', '£', '¥'];

/// The number a cell shows: thousands separators, currency signs, a trailing per cent sign and
/// accountants' parentheses for negatives allowed, and a decimal comma where the cell says so
/// ("143,1" and "1.234,56"; "1,577" is read as thousands). `None` for anything else.
pub(crate) fn number(cell: &str) -> Option<f64> {
    // "$(1,038)" and "($1,038)" alike.
    let mut s = cell.trim().trim_start_matches(CURRENCY).trim_start();
    let negative = s.starts_with('(') && s.ends_with(')');
    if negative {
        s = &s[1..s.len() - 1];
    }
    let s = s.trim().trim_start_matches(CURRENCY).trim_end_matches('%').trim();
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '+' | 'e' | 'E')) {
        return None;
    }
    let decimal_comma = match (s.rfind(','), s.rfind('.')) {
        (Some(comma), Some(dot)) => comma > dot,
        (Some(comma), None) => s.matches(',').count() == 1 && s.len() - comma - 1 != 3,
        _ => false,
    };
    let plain = if decimal_comma { s.replace('.', "").replace(',', ".") } else { s.replace(',', "") };
    let value: f64 = plain.parse().ok()?;
    value.is_finite().then_some(if negative { -value } else { value })
}

/// A header without its footnote marker: "Sales (a)", "Revenue (1)", "Costs*" → the words.
fn without_footnote(header: &str) -> &str {
    let h = header.trim().trim_end_matches('*').trim_end();
    if let Some(open) = h.rfind('(')
        && h.ends_with(')')
        && open > 0
    {
        let marker = &h[open + 1..h.len() - 1];
        if (1..=2).contains(&marker.chars().count()) && marker.chars().all(char::is_alphanumeric) {
            return h[..open].trim_end();
        }
    }
    h
}

/// A plain SQL name for a header cell: lower case, words joined by `_` (a footnote marker left
/// out), never starting with a digit; `row_label` for an empty first one (the rows' names, as a
/// report's first column is), `column_N` for another empty one; made unique with a suffix.
fn sql_names(headers: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let words: Vec<String> = without_footnote(header)
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let mut name = match (words.is_empty(), i) {
            (true, 0) => "row_label".to_string(),
            (true, _) => format!("column_{}", i + 1),
            (false, _) => words.join("_"),
        };
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name = format!("c_{name}");
        }
        let base = name.clone();
        let mut n = 2;
        while names.contains(&name) || name == ROW {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

impl SheetTable {
    pub(crate) fn new(mut table: Table) -> SheetTable {
        // A total row would be counted twice by any sum, and be "the largest" of every column.
        table.rows.retain(|row| !is_total(row));
        let width = table.width();
        let headers: Vec<String> = (0..width).map(|i| table.columns.get(i).cloned().unwrap_or_default()).collect();
        let kinds = (0..width)
            .map(|i| {
                let cells: Vec<&str> = table.rows.iter().filter_map(|r| cell(r, i)).collect();
                let numbers: Vec<f64> = cells.iter().filter_map(|c| number(c)).collect();
                // A column of numbers may hold a dash or "N/A" here and there.
                if numbers.is_empty() || numbers.len() * 10 < cells.len() * 9 {
                    Kind::Text
                } else if numbers.iter().all(|n| n.fract() == 0.0 && n.abs() < 9.0e15) {
                    Kind::Integer
                } else {
                    Kind::Decimal
                }
            })
            .collect();
        SheetTable { names: sql_names(&headers), headers, kinds, table }
    }

    /// The table as Arrow: one column per sheet column, and the row numbers.
    fn batch(&self) -> Result<RecordBatch, String> {
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (i, (name, kind)) in self.names.iter().zip(&self.kinds).enumerate() {
            let rows = &self.table.rows;
            let (field, array): (Field, ArrayRef) = match kind {
                Kind::Integer => (
                    Field::new(name, DataType::Int64, true),
                    Arc::new(rows.iter().map(|r| cell(r, i).and_then(number).map(|n| n as i64)).collect::<Int64Array>()),
                ),
                Kind::Decimal => (
                    Field::new(name, DataType::Float64, true),
                    Arc::new(rows.iter().map(|r| cell(r, i).and_then(number)).collect::<Float64Array>()),
                ),
                Kind::Text => (Field::new(name, DataType::Utf8, true), Arc::new(rows.iter().map(|r| cell(r, i)).collect::<StringArray>())),
            };
            fields.push(field);
            columns.push(array);
        }
        fields.push(Field::new(ROW, DataType::UInt32, false));
        columns.push(Arc::new(self.table.rows.iter().map(|r| r.row).collect::<UInt32Array>()));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
    }

    /// The header and the sheet rows `numbers` (at most [`CITED_ROWS`]), as the sheet's passages
    /// read: cells joined by " | ".
    fn rows_text(&self, numbers: &[u32]) -> String {
        let mut lines = vec![self.table.columns.join(" | ")];
        let wanted: std::collections::HashSet<u32> = numbers.iter().copied().collect();
        let rows: Vec<&TableRow> = self.table.rows.iter().filter(|r| wanted.contains(&r.row)).collect();
        lines.extend(rows.iter().take(CITED_ROWS).map(|r| r.cells.join(" | ")));
        if rows.len() > CITED_ROWS {
            lines.push(format!("… and {} more rows", rows.len() - CITED_ROWS));
        }
        lines.join("\n")
    }

    /// What the model is told of the table: a `CREATE TABLE` with each column's header words, the
    /// caption, and the first rows.
    fn describe(&self) -> String {
        let mut out = String::new();
        for line in &self.table.caption {
            out.push_str(&format!("-- {line}\n"));
        }
        out.push_str("CREATE TABLE sheet (\n");
        for (i, ((name, kind), header)) in self.names.iter().zip(&self.kinds).zip(&self.headers).enumerate() {
            let sql_type = match kind {
                Kind::Integer => "BIGINT",
                Kind::Decimal => "DOUBLE",
                Kind::Text => "TEXT",
            };
            let comma = if i + 1 < self.names.len() { "," } else { "" };
            let said = match (header.is_empty(), i) {
                // The rows' names, as a report's unlabelled first column holds them.
                (true, 0) => {
                    self.table.rows.iter().find_map(|r| cell(r, 0)).map(|v| format!(" -- the row's name, like '{v}'")).unwrap_or_default()
                }
                (true, _) => String::new(),
                (false, _) => format!(" -- {header}"),
            };
            out.push_str(&format!("  {name} {sql_type}{comma}{said}\n"));
        }
        out.push_str(");\n");
        // A filter must use the values the table holds ("Americas", not "Apple"): a text column
        // of few values lists them.
        for (i, (name, _)) in self.names.iter().zip(&self.kinds).enumerate().filter(|(_, (_, kind))| **kind == Kind::Text) {
            // One more than listed is enough to know there are too many (a sheet may have a
            // million rows).
            let mut values: Vec<&str> = Vec::new();
            for value in self.table.rows.iter().filter_map(|r| cell(r, i)) {
                if !values.contains(&value) {
                    values.push(value);
                    if values.len() > LISTED_VALUES {
                        break;
                    }
                }
            }
            if (2..=LISTED_VALUES).contains(&values.len()) {
                let quoted: Vec<String> = values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
                out.push_str(&format!("-- {name} is one of: {}\n", quoted.join(", ")));
            }
        }
        out.push_str(&format!("-- {} rows; the first:\n", self.table.rows.len()));
        for row in self.table.rows.iter().take(EXAMPLE_ROWS) {
            let cells: Vec<String> = (0..self.names.len()).map(|i| row.cells.get(i).cloned().unwrap_or_default()).collect();
            out.push_str(&format!("-- {}\n", cells.join(" | ")));
        }
        out
    }
}

/// The model's instructions for writing the query.
const SQL_SYSTEM_PROMPT: &str = "You write one SQL query that answers the question from the table `sheet` described in the message. \
Use only that table and its columns. For names and other text, compare case-insensitively with ILIKE. \
Give the figures the question asks for, with the columns that name them. Reply with the query only.";

/// What the model is told of a query whose filter kept no row.
const NO_ROW_READ: &str = "its WHERE clause matched no row of the table. Filter only on values the table holds \
(the listed values of its columns), not on the company's or the file's name";

/// The prompt asking the model for the query; after a failed one, the conversation goes on with
/// that query and its error.
pub(crate) fn prompt(
    model: &dyn Generate,
    sheet: &SheetTable,
    question: &str,
    failed: Option<(&str, &str)>,
) -> crate::error::Result<String> {
    let mut messages = vec![
        ChatMessage { role: Role::System, content: SQL_SYSTEM_PROMPT.to_string() },
        ChatMessage { role: Role::User, content: format!("{}\nQuestion: {question}", sheet.describe()) },
    ];
    if let Some((sql, error)) = failed {
        messages.push(ChatMessage { role: Role::Assistant, content: format!("```sql\n{sql}\n```") });
        messages.push(ChatMessage { role: Role::User, content: format!("That query failed: {error}\nWrite the corrected query.") });
    }
    model.format_chat(&messages)
}

/// The query in what the model wrote: the inside of a code block if there is one, up to the
/// first `;`. `None` when it is no `SELECT` or `WITH` query.
pub(crate) fn query_in(reply: &str) -> Option<String> {
    let inside = match reply.split_once("```") {
        Some((_, rest)) => {
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            rest.split("```").next().unwrap_or(rest)
        }
        None => reply,
    };
    let query = inside.split(';').next().unwrap_or_default().trim();
    let first = query.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    (first == "SELECT" || first == "WITH").then(|| query.to_string())
}

/// Ask the model for the query (greedy, short); `failed` is an earlier query and why it failed,
/// for the model to correct (DataFusion's errors name the column it meant).
pub(crate) fn write_query(
    model: &dyn Generate,
    sheet: &SheetTable,
    question: &str,
    failed: Option<(&str, &str)>,
) -> crate::error::Result<Option<String>> {
    let prompt = prompt(model, sheet, question, failed)?;
    let mut reply = String::new();
    let options = GenerateOptions { max_tokens: 200, stop: vec!["\nQuestion:".into()], ..GenerateOptions::default() };
    model.generate(&prompt, options, Arc::new(std::sync::atomic::AtomicBool::new(false)), &mut |piece| reply.push_str(piece))?;
    Ok(query_in(&reply))
}

/// What a query returned, and which sheet rows it read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total_rows: usize,
    pub rows_read: Vec<u32>,
}

/// Run `sql` over the sheet, read-only, within [`QUERY_TIME`] and [`QUERY_MEMORY`].
pub(crate) async fn run(sheet: &SheetTable, sql: &str) -> Result<QueryResult, String> {
    let batch = sheet.batch()?;
    let runtime = RuntimeEnvBuilder::new().with_memory_limit(QUERY_MEMORY, 1.0).build_arc().map_err(|e| e.to_string())?;
    let mut config = SessionConfig::new().with_target_partitions(1);
    // "The largest" is `ORDER BY … DESC LIMIT 1`: empty cells last, not first as in Postgres.
    config.options_mut().sql_parser.default_null_ordering = "nulls_last".to_string();
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| e.to_string())?;
    ctx.register_table("sheet", Arc::new(table)).map_err(|e| e.to_string())?;
    let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let work = async {
        let frame = ctx.sql_with_options(sql, read_only).await.map_err(|e| e.to_string())?;
        let filter = filter_over_table(frame.logical_plan());
        let batches = frame.collect().await.map_err(|e| e.to_string())?;
        let mut read = ctx.table("sheet").await.map_err(|e| e.to_string())?;
        if let Some(predicate) = filter {
            read = read.filter(predicate).map_err(|e| e.to_string())?;
        }
        let read = read.select_columns(&[ROW]).map_err(|e| e.to_string())?.collect().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((batches, read))
    };
    let (batches, read) =
        tokio::time::timeout(QUERY_TIME, work).await.map_err(|_| format!("the query ran past {} s", QUERY_TIME.as_secs()))??;

    let mut rows_read: Vec<u32> = read
        .iter()
        .flat_map(|b| b.column(0).as_any().downcast_ref::<UInt32Array>().map(|a| a.values().to_vec()).unwrap_or_default())
        .collect();
    rows_read.sort_unstable();
    let schema = batches.first().map(|b| b.schema());
    let shown: Vec<usize> =
        schema.as_ref().map(|s| (0..s.fields().len()).filter(|&i| s.field(i).name() != ROW).collect()).unwrap_or_default();
    let columns = schema.as_ref().map(|s| shown.iter().map(|&i| s.field(i).name().clone()).collect()).unwrap_or_default();
    let mut rows = Vec::new();
    let mut total_rows = 0;
    for batch in &batches {
        for r in 0..batch.num_rows() {
            total_rows += 1;
            if rows.len() < RESULT_ROWS {
                rows.push(shown.iter().map(|&i| value(batch.column(i), r)).collect());
            }
        }
    }
    Ok(QueryResult { columns, rows, total_rows, rows_read })
}

/// One value of a result as shown: numbers with two decimals at most.
fn value(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) {
        return String::new();
    }
    if let Some(floats) = array.as_any().downcast_ref::<Float64Array>() {
        return crate::answer::arithmetic::show(floats.value(row));
    }
    array_value_to_string(array, row).unwrap_or_default()
}

/// The predicate of the filter that reads the table itself (a `WHERE` over `sheet`, not a
/// `HAVING` over groups), when the query has one.
fn filter_over_table(plan: &LogicalPlan) -> Option<Expr> {
    if let LogicalPlan::Filter(filter) = plan {
        let mut input = filter.input.as_ref();
        while let LogicalPlan::SubqueryAlias(alias) = input {
            input = alias.input.as_ref();
        }
        if matches!(input, LogicalPlan::TableScan(_)) {
            return Some(filter.predicate.clone());
        }
    }
    plan.inputs().into_iter().find_map(filter_over_table)
}

/// Sources among which a sheet is looked for: the first few, so that a sheet that only
/// shares a word with the question does not take it over.
const SHEET_SOURCES: usize = 3;

/// Answer `question` by a query over the sheet among the first `sources`, sending the answer's
/// events; `None` (nothing sent) when there is no such sheet or no query answers it, and the
/// answer is then made from passages.
pub(crate) async fn answer(
    engine: &Engine,
    queried: Queried,
    question: &str,
    sources: &[Hit],
    events: &AnswerSink,
    started: Instant,
    retrieval_ms: u64,
) -> Option<Answer> {
    let (table, hit) = sheet_asked_about(engine, queried, question, sources).await?;
    // A question naming a company, a place or a person the table's file does not (Walmart's
    // stores asked of Amazon's statement) is not over this table: a query would count nothing
    // and answer "0".
    let paths = [hit.path.clone()];
    let identity = match engine.store().await {
        Ok(store) => store.identities(Some(&paths)).await.ok().and_then(|mut ids| ids.remove(&hit.path)).unwrap_or_default(),
        Err(_) => String::new(),
    };
    if let Some(missing) = name_not_in(question, &table, &hit.path, &identity) {
        tracing::info!("no query over {}: the question names {missing}, which it does not", hit.path);
        return None;
    }
    let load_started = Instant::now();
    let llm = engine.load_llm().await.ok()?;
    let model_load_ms = load_started.elapsed().as_millis() as u64;
    let generation_started = Instant::now();
    let (sql, result, sheet) = query_sheet(llm, SheetTable::new(table), question, &hit.path).await?;
    let generation_ms = generation_started.elapsed().as_millis() as u64;

    let sheet_name = sheet.table.sheet.clone();
    let file = Path::new(&hit.path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let rows_range = result.rows_read.first().zip(result.rows_read.last()).map(|(a, b)| [*a, *b]);
    // A PDF's table is cited at its page, under its title; a sheet's by its rows.
    let location = match sheet.table.page {
        Some(page) => Location { page: Some(page), heading: sheet.table.caption.first().cloned(), ..Default::default() },
        None => Location { sheet: Some(sheet_name.clone()), rows: rows_range, ..Default::default() },
    };
    let citation = Citation {
        n: 1,
        path: hit.path.clone(),
        location,
        text: sheet.rows_text(&result.rows_read),
        cited: true,
        similarity: hit.similarity.unwrap_or_default(),
    };
    let place = match sheet.table.page {
        Some(page) => format!("the table on page {page}"),
        None => format!("the sheet {sheet_name}"),
    };
    let text = answer_text(&result, &sql, &place, &file);
    let answer = Answer {
        answer: text.clone(),
        citations: vec![citation.clone()],
        found: true,
        timings_ms: AnswerTimings {
            retrieval_ms,
            model_load_ms,
            first_token_ms: Some(generation_ms),
            generation_ms,
            total_ms: started.elapsed().as_millis() as u64,
            tokens_per_second: 0.0,
        },
        prompt_tokens: 0,
        prompt_tokens_reused: 0,
        answer_tokens: 0,
        stop: AnswerStop::End,
        claims: Vec::new(),
        grounded: None,
        calculations: Vec::new(),
        lora: None,
        query: Some(SheetQuery {
            sql,
            path: hit.path.clone(),
            sheet: sheet_name,
            columns: result.columns.clone(),
            more_rows: result.total_rows - result.rows.len(),
            rows: result.rows,
            rows_read: result.rows_read.len(),
            rows_range,
        }),
    };
    let _ = events.send(AnswerEvent::Sources { citations: vec![citation] });
    let _ = events.send(AnswerEvent::Token { text });
    let _ = events.send(AnswerEvent::Done { answer: Box::new(answer.clone()) });
    Some(answer)
}

/// The table the question is over, and the source it was found by: among the tables of the first
/// sources — a sheet, or a PDF table whose structure is sure (each file read once) — the one
/// [`choose_table`] scores highest, if the question names something of it. A PDF table is asked
/// about only by a question that computes over its rows and names none of them whole: a
/// statement's own line ("total net sales") is read from the passage, where the check sees it.
async fn sheet_asked_about<'a>(engine: &Engine, queried: Queried, question: &str, sources: &'a [Hit]) -> Option<(Table, &'a Hit)> {
    let asked = name_words(question);
    let candidates: Vec<&Hit> = sources.iter().take(SHEET_SOURCES).filter(|h| holds_a_table(h, queried, question)).collect();
    let mut read: Vec<(&str, Vec<Table>)> = Vec::new();
    for hit in &candidates {
        if !read.iter().any(|(path, _)| *path == hit.path) {
            let tables = engine.sheet_tables(Path::new(&hit.path)).await.unwrap_or_else(|e| {
                tracing::info!("no query over {}: the file could not be read again ({e})", hit.path);
                Vec::new()
            });
            read.push((&hit.path, tables));
        }
    }
    let mut best: Option<(usize, &Table, &Hit)> = None;
    for hit in candidates {
        let tables = read.iter().find(|(path, _)| *path == hit.path).map_or(&[][..], |(_, t)| t.as_slice());
        let stem = file_stem(&hit.path);
        let chosen = match (hit.location.sheet.as_deref(), hit.location.page) {
            (Some(name), _) => choose_table(tables, &Place::Sheet { name, rows: hit.location.rows }, &asked, &stem),
            (None, Some(page)) => choose_table(tables, &Place::Page { page, text: &hit.text }, &asked, &stem)
                .filter(|(_, table)| !names_a_row_whole(question, table)),
            (None, None) => None,
        };
        if let Some((score, table)) = chosen
            && best.is_none_or(|(s, _, _)| score > s)
        {
            best = Some((score, table, hit));
        }
    }
    match best {
        // The question names nothing of the table (no word of its columns, caption, sheet or file
        // name): a question over filings that only shares "total" with a sheet among its sources
        // is no question over that sheet, and a query over it would answer what nobody asked.
        Some((0, _, hit)) => {
            tracing::info!("no query over {}: the question names none of its columns", hit.path);
            None
        }
        Some((_, table, hit)) => Some((table.clone(), hit)),
        None => None,
    }
}

/// Which tables questions over rows are answered by a query over (the settings
/// `sheet_queries` and `pdf_table_queries`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queried {
    pub sheets: bool,
    pub pdf_tables: bool,
}

/// Whether a source is part of a table a query may run over: a sheet's rows (not an
/// attachment's), or a PDF page's table rows when the question computes over rows.
fn holds_a_table(hit: &Hit, queried: Queried, question: &str) -> bool {
    if hit.location.attachment.is_some() {
        return false;
    }
    (queried.sheets && hit.location.sheet.is_some())
        || (queried.pdf_tables
            && hit.location.sheet.is_none()
            && hit.location.page.is_some()
            && asks_over_statement_rows(question)
            && hit.text.lines().any(|l| table_row::Row::parse(l).is_some()))
}

/// Whether `table` holds the rows of the passage `text` (a PDF page may have several tables):
/// the line items of its first rows are labels of the table.
fn holds_rows_of(table: &Table, text: &str) -> bool {
    let labels: HashSet<&str> = table.rows.iter().filter_map(|r| r.cells.first()).map(|c| c.trim()).collect();
    let items: Vec<&str> = text.lines().filter_map(table_row::Row::parse).map(|r| r.item().trim()).take(3).collect();
    !items.is_empty() && items.iter().any(|item| labels.contains(item))
}

/// Whether the question names one of the table's rows whole (every term of its label) and that
/// label is on one row only: then it asks for that line ("how many shares were outstanding"),
/// not for something computed over the rows. A label on several rows, under several groups
/// ("Operating income" of each segment), is what the question compares.
fn names_a_row_whole(question: &str, table: &Table) -> bool {
    let asked = table_row::terms(question);
    let mut rows_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for label in table.rows.iter().filter_map(|r| r.cells.first()) {
        *rows_of.entry(label.trim()).or_default() += 1;
    }
    rows_of.into_iter().any(|(label, rows)| {
        let terms = table_row::terms(label);
        rows == 1 && !terms.is_empty() && terms.is_subset(&asked)
    })
}

/// A name the question asks about (a capitalised word inside it: "Walmart", "North") that is
/// nowhere in the table, its file's path or what its document is (its identity: title, first
/// page, headings); `None` when every name is there.
fn name_not_in(question: &str, table: &Table, path: &str, identity: &str) -> Option<String> {
    let cells = table.rows.iter().flat_map(|r| r.cells.iter());
    let text = table.caption.iter().chain(&table.columns).chain(cells).chain([&table.sheet]).fold(
        format!("{path} {identity}").to_lowercase(),
        |mut all, part| {
            all.push(' ');
            all.push_str(&part.to_lowercase());
            all
        },
    );
    crate::grounding::names(question).into_iter().find(|name| !text.contains(&name.to_lowercase()))
}

/// A file's name without its extension.
fn file_stem(path: &str) -> String {
    Path::new(path).file_stem().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The model's query over the sheet and what it returned; a query that fails (a column
/// misnamed, a type mixed up) is corrected once, with the error. `None` when there is no query,
/// it fails twice or it returns nothing.
async fn query_sheet(
    llm: Arc<brain_llm::Llm>,
    mut sheet: SheetTable,
    question: &str,
    path: &str,
) -> Option<(String, QueryResult, SheetTable)> {
    let mut failed: Option<(String, String)> = None;
    loop {
        let (asked, retry, model) = (question.to_string(), failed.clone(), Arc::clone(&llm));
        let (sql, back) = crate::blocking(move || {
            let failed = retry.as_ref().map(|(sql, error)| (sql.as_str(), error.as_str()));
            (write_query(model.as_ref(), &sheet, &asked, failed), sheet)
        })
        .await
        .ok()?;
        sheet = back;
        let sql = match sql {
            Ok(Some(sql)) => sql,
            Ok(None) => {
                tracing::info!("no query over {path}: the model wrote none");
                return None;
            }
            Err(e) => {
                tracing::info!("no query over {path}: {e}");
                return None;
            }
        };
        match run(&sheet, &sql).await {
            // A query whose filter kept no row touched nothing: its "0" or empty sum answers a
            // question about something the table does not hold, or the model filtered on a
            // value the table does not have (the company's name) — corrected once, like an error.
            Ok(result) if result.rows_read.is_empty() && failed.is_none() => {
                tracing::info!("the query over {path} read no row, asking again: {sql}");
                failed = Some((sql, NO_ROW_READ.to_string()));
            }
            Ok(result) if result.rows_read.is_empty() => {
                tracing::info!("the corrected query over {path} read no row either: {sql}");
                return None;
            }
            Ok(result) if result.rows.iter().any(|r| r.iter().any(|v| !v.is_empty())) => return Some((sql, result, sheet)),
            Ok(_) => {
                tracing::info!("the query over {path} returned nothing: {sql}");
                return None;
            }
            Err(e) if failed.is_none() => {
                tracing::info!("the query over {path} failed ({e}), asking again: {sql}");
                failed = Some((sql, e));
            }
            Err(e) => {
                tracing::info!("the corrected query over {path} failed too ({e}): {sql}");
                return None;
            }
        }
    }
}

/// Words of a question that say nothing of what a table holds.
const NOT_NAMES: &[&str] = &[
    "how", "many", "much", "what", "which", "who", "whom", "when", "where", "why", "the", "a", "an", "of", "in", "on", "at", "to", "for",
    "from", "by", "with", "and", "or", "is", "are", "was", "were", "be", "been", "do", "does", "did", "has", "have", "had", "there",
    "their", "its", "it", "this", "that", "these", "those", "all", "any", "each", "every", "than", "more", "less", "fewer", "most",
    "least", "number", "total", "sum", "average", "mean", "median", "count", "highest", "lowest", "largest", "smallest", "biggest",
    "maximum", "minimum", "top", "list", "rank", "across", "over", "per", "between", "value", "values", "table", "sheet", "row", "rows",
];

/// The words of `text` that can name something of a table, folded as table rows' terms are (lower
/// case, a plural as its singular, a month as its abbreviation: [`table_row::folded`]), without
/// [`NOT_NAMES`].
fn name_words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !NOT_NAMES.contains(&w.as_str()))
        .map(|w| table_row::folded(&w))
        .collect()
}

/// How many of the question's name words the table's columns, caption, sheet or file name hold.
fn shared_names(asked: &HashSet<String>, table: &Table, file_stem: &str) -> usize {
    let described = name_words(&format!("{} {} {} {}", table.columns.join(" "), table.caption.join(" "), table.sheet, file_stem));
    asked.intersection(&described).count()
}

/// Where a passage stands, to find its table among its file's.
enum Place<'a> {
    /// In the sheet `name`, on `rows` (the table that spans them).
    Sheet { name: &'a str, rows: Option<[u32; 2]> },
    /// On a PDF's page, as the rows of `text`.
    Page { page: u32, text: &'a str },
}

impl Place<'_> {
    /// Whether `table` may be the one asked about: for a sheet's passage, the sheet's table that
    /// spans its rows; for a PDF's passage, any table of the file the parser is sure of — a
    /// statement's passage found first often stands beside the table the question is over ("net
    /// sales by category" a dozen pages after the statement of operations).
    fn admits(&self, table: &Table) -> bool {
        match *self {
            Place::Sheet { name, rows } => {
                let [first, last] = table.row_span();
                table.page.is_none() && table.sheet == name && rows.is_none_or(|[a, b]| first <= b && a <= last)
            }
            Place::Page { .. } => table.page.is_some(),
        }
    }

    /// Whether the passage is part of `table` (a PDF page may have several tables).
    fn is_in(&self, table: &Table) -> bool {
        match *self {
            Place::Sheet { .. } => true,
            Place::Page { page, text } => table.page == Some(page) && holds_rows_of(table, text),
        }
    }
}

/// The table the question is over among those the passage at `place` admits, and how many name
/// words of the question (`asked`) its caption, header, sheet and file name share: the one that
/// shares the most, then the passage's own, then the first. Where a sheet holds several (a
/// report's 2023 block above its 2022 one) and the passage spans more than one, the one the
/// question names; the same score chooses between the tables among the sources ("operating
/// segments" is the caption of one sheet of a workbook, "products" of the next). `None` when no
/// table is there.
fn choose_table<'t>(tables: &'t [Table], place: &Place, asked: &HashSet<String>, file_stem: &str) -> Option<(usize, &'t Table)> {
    let mut best: Option<((usize, bool), &Table)> = None;
    for table in tables.iter().filter(|t| place.admits(t)) {
        let score = (shared_names(asked, table, file_stem), place.is_in(table));
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, table));
        }
    }
    best.map(|((shared, _), table)| (shared, table))
}

/// The answer's text: the result citing the table as \[1\] (a value, a row's values, or the
/// rows as a Markdown table), then the query in a code block; `place` says which table ("the
/// sheet Depots", "the table on page 6").
pub(crate) fn answer_text(result: &QueryResult, sql: &str, place: &str, file: &str) -> String {
    let shown = match (result.rows.as_slice(), result.columns.len()) {
        ([row], 1) => format!("{} [1]", row[0]),
        ([row], _) => format!("{} [1]", result.columns.iter().zip(row).map(|(c, v)| format!("{c}: {v}")).collect::<Vec<_>>().join(", ")),
        (rows, _) => {
            let cell = |v: &str| v.replace('|', "\\|");
            let mut lines = vec![
                format!("The query returned {} rows [1]:", result.total_rows),
                String::new(),
                format!("| {} |", result.columns.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")),
                format!("|{}|", vec!["---"; result.columns.len()].join("|")),
            ];
            lines.extend(rows.iter().map(|r| format!("| {} |", r.iter().map(|v| cell(v)).collect::<Vec<_>>().join(" | "))));
            if result.total_rows > rows.len() {
                lines.push(String::new());
                lines.push(format!("… and {} more rows.", result.total_rows - rows.len()));
            }
            lines.join("\n")
        }
    };
    let read = match result.rows_read.len() {
        1 => "the 1 row".to_string(),
        n => format!("the {n} rows"),
    };
    format!("{shown}\n\nComputed over {read} it read of {place} in {file} by this query:\n```sql\n{sql}\n```")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::fakes::ScriptedModel;

    fn depots() -> SheetTable {
        let rows: Vec<TableRow> = [
            ["Ashcombe", "North", "37", "118,400.50"],
            ["Larchfield", "South", "12", "40,210.00"],
            ["Quayside", "North", "8", "26,975.25"],
            ["Thornbury", "East", "21", "N/A"],
        ]
        .iter()
        .enumerate()
        .map(|(i, cells)| TableRow { row: i as u32 + 3, cells: cells.iter().map(|c| c.to_string()).collect() })
        .collect();
        SheetTable::new(Table {
            sheet: "Depots".into(),
            page: None,
            caption: vec!["Fleet 2024".into()],
            header_row: 2,
            columns: ["Depot", "Region", "Vans", "Fuel budget (EUR)"].map(String::from).to_vec(),
            rows,
        })
    }

    #[test]
    fn questions_over_rows_are_told_from_questions_about_one_fact() {
        for q in [
            "How many depots are in the North region?",
            "What is the total fuel budget?",
            "Which depot has the most vans?",
            "List all depots with more than 10 vans",
        ] {
            assert!(asks_over_rows(q), "{q}");
        }
        for q in [
            "Who approves a sabbatical?",
            "What is the fuel budget of Ashcombe?",
            "When does the contract renew?",
            "Is the customer the topmost priority?",
        ] {
            assert!(!asks_over_rows(q), "{q}");
        }
    }

    #[test]
    fn cells_read_as_numbers_and_columns_get_plain_names_and_kinds() {
        assert_eq!(number("118,400.50"), Some(118_400.5));
        assert_eq!(number("(484.11)"), Some(-484.11));
        assert_eq!(number("$1,577"), Some(1577.0));
        assert_eq!((number("$(1,038)"), number("($980)")), (Some(-1038.0), Some(-980.0)));
        assert_eq!(number("7%"), Some(7.0));
        assert_eq!(number("143,1"), Some(143.1));
        assert_eq!(number("-814,38"), Some(-814.38));
        assert_eq!(number("1.234,5"), Some(1234.5));
        assert_eq!(number("1,234,567"), Some(1_234_567.0));
        assert_eq!(number("N/A"), None);
        assert_eq!(number("12 vans"), None);
        let sheet = depots();
        assert_eq!(sheet.names, vec!["depot", "region", "vans", "fuel_budget_eur"]);
        // Three numbers and an "N/A" are not nine in ten: a text column.
        assert_eq!(sheet.kinds, vec![Kind::Text, Kind::Text, Kind::Integer, Kind::Text]);
        assert_eq!(sql_names(&["2023".into(), "".into(), "Vans".into(), "vans".into()]), vec!["c_2023", "column_2", "vans", "vans_2"]);
        assert_eq!(sql_names(&["".into(), "Sales".into()]), vec!["row_label", "sales"]);
        let row = |first: &str| TableRow { row: 1, cells: vec!["".into(), first.into(), "5".into()] };
        assert!(is_total(&row("Total")) && is_total(&row("Grand total:")) && is_total(&row("Total Zones")));
        assert!(!is_total(&row("Totalfina depot")) && !is_total(&row("Zone NA")));
        let footnoted = ["Sales (a)", "Underlying profit (b)*", "Margin (%)", "Cost (EUR)"].map(String::from);
        assert_eq!(sql_names(&footnoted), vec!["sales", "underlying_profit", "margin", "cost_eur"]);
        let described = sheet.describe();
        assert!(described.contains("  vans BIGINT, -- Vans\n") && described.contains("-- Fleet 2024\n"), "{described}");
        assert!(described.contains("-- 4 rows; the first:\n-- Ashcombe | North | 37 | 118,400.50\n"), "{described}");
        // A text column of few values lists them, for the filter; a column of figures does not.
        assert!(described.contains("-- region is one of: 'North', 'South', 'East'\n"), "{described}");
        assert!(!described.contains("-- vans is one of"), "{described}");
    }

    #[tokio::test]
    async fn a_query_runs_over_every_row_and_says_which_rows_it_read() {
        let sheet = depots();
        let count = run(&sheet, "SELECT COUNT(*) AS depots, SUM(vans) AS vans FROM sheet WHERE region ILIKE 'north'").await.unwrap();
        assert_eq!(
            (count.columns.clone(), count.rows.clone()),
            (vec!["depots".to_string(), "vans".into()], vec![vec!["2".to_string(), "45".into()]])
        );
        assert_eq!(count.rows_read, vec![3, 5], "the rows the filter kept");
        let top = run(&sheet, "SELECT depot, vans FROM sheet ORDER BY vans DESC LIMIT 2").await.unwrap();
        assert_eq!(top.rows, vec![vec!["Ashcombe".to_string(), "37".into()], vec!["Thornbury".into(), "21".into()]]);
        assert_eq!(top.rows_read, vec![3, 4, 5, 6], "no filter: every row");
        // Empty cells sort last either way (Postgres puts them first in DESC): the largest is a figure.
        let largest =
            run(&sheet, "SELECT depot FROM sheet ORDER BY CASE WHEN region = 'East' THEN NULL ELSE vans END DESC LIMIT 1").await.unwrap();
        assert_eq!(largest.rows, vec![vec!["Ashcombe".to_string()]]);
        let mean = run(&sheet, "SELECT AVG(vans) FROM sheet").await.unwrap();
        assert_eq!(mean.rows, vec![vec!["19.5".to_string()]]);
        let text = answer_text(&count, "SELECT …", "the sheet Depots", "fleet.xlsx");
        assert!(
            text.starts_with("depots: 2, vans: 45 [1]\n") && text.contains("the 2 rows it read of the sheet Depots in fleet.xlsx"),
            "{text}"
        );
        assert!(text.ends_with("```sql\nSELECT …\n```"), "{text}");
        let table = answer_text(&top, "SELECT depot, vans …", "the sheet Depots", "fleet.xlsx");
        assert!(
            table.starts_with("The query returned 2 rows [1]:\n\n| depot | vans |\n|---|---|\n| Ashcombe | 37 |\n| Thornbury | 21 |\n"),
            "{table}"
        );
    }

    #[tokio::test]
    async fn only_a_query_runs_and_only_over_the_sheet() {
        let sheet = depots();
        for sql in [
            "DROP TABLE sheet",
            "INSERT INTO sheet (depot) VALUES ('x')",
            "CREATE TABLE t AS SELECT 1",
            "SELECT * FROM other_table",
            "COPY sheet TO '/tmp/x.csv'",
        ] {
            assert!(run(&sheet, sql).await.is_err(), "{sql} ran");
        }
    }

    /// Whether the question names something of the table (a score above 0, see `sheet_asked_about`).
    fn names_the_table(question: &str, table: &Table, file_stem: &str) -> bool {
        shared_names(&name_words(question), table, file_stem) > 0
    }

    #[test]
    fn a_query_is_written_only_for_a_question_that_names_the_table() {
        let table = depots().table;
        for q in ["How many depots are in the North region?", "What is the total fuel budget?", "Which has the most vans?"] {
            assert!(names_the_table(q, &table, "fleet"), "{q}");
        }
        assert!(names_the_table("How many entries are there in the fleet list?", &table, "fleet"), "by the file's name");
        for q in ["What were Apple's total net sales in the third quarter?", "How many days of leave do staff get?"] {
            assert!(!names_the_table(q, &table, "fleet"), "{q}");
        }
    }

    #[test]
    fn the_table_is_the_one_the_passage_is_in_and_then_the_one_the_question_names() {
        let block = |caption: &str, header_row: u32| Table {
            sheet: "Segments".into(),
            page: None,
            caption: vec![caption.into()],
            header_row,
            columns: vec!["".into(), "Sales".into()],
            rows: vec![TableRow { row: header_row + 1, cells: vec!["Zone NA".into(), "1".into()] }],
        };
        let tables =
            || vec![block("January–June 2023", 5), block("January–June 2022", 17), Table { sheet: "Other".into(), ..block("2022", 1) }];
        let chosen = |rows, question| {
            choose_table(&tables(), &Place::Sheet { name: "Segments", rows }, &name_words(question), "report").map(|(_, t)| t.header_row)
        };
        assert_eq!(chosen(Some([17, 18]), "Sales of Zone NA in January–June 2023?"), Some(17), "the passage's own table");
        assert_eq!(chosen(Some([1, 40]), "Sales of Zone NA in January–June 2022?"), Some(17), "the question's period");
        assert_eq!(chosen(Some([1, 40]), "Sales of Zone NA?"), Some(5), "the first on a tie");
        assert_eq!(chosen(Some([30, 40]), "Sales?"), None, "no table where the passage is");
        let missing = Place::Sheet { name: "Missing", rows: None };
        assert_eq!(choose_table(&tables(), &missing, &name_words("Sales?"), "report").map(|(_, t)| t.header_row), None);
        // The score compares sheets too: the question's words in a caption count.
        let asked = name_words("How many operating segments had sales above 9,000?");
        let segments = Place::Sheet { name: "Segments", rows: None };
        let scored = |caption: &str| choose_table(&[block(caption, 5)], &segments, &asked, "report").map(|(score, _)| score);
        assert!(scored("3.1 Operating segments").unwrap() > scored("3.2 Products").unwrap());
    }

    /// A PDF statement's segment table as the parser keeps it for a query.
    fn segments_on_page(page: u32) -> Table {
        let row = |n: u32, label: &str, group: &str, a: &str, b: &str| TableRow {
            row: n,
            cells: [label, group, a, b].map(String::from).to_vec(),
        };
        Table {
            sheet: format!("page {page}"),
            page: Some(page),
            caption: vec!["Operating segment results (In Millions)".into()],
            header_row: 0,
            columns: ["Line item", "Group label", "Three Months Ended Sep 30, 2023", "Nine Months Ended Sep 30, 2023"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                row(1, "Client Computing Group", "Net revenue", "$7,867", "$21,113"),
                row(2, "Data Center and AI", "Net revenue", "3,814", "11,048"),
                row(3, "Client Computing Group", "Operating income (loss)", "1,950", "3,596"),
                row(4, "Data Center and AI", "Operating income (loss)", "(141)", "(715)"),
            ],
        }
    }

    #[test]
    fn a_pdf_table_is_queried_only_over_rows_it_holds_and_for_a_question_over_rows() {
        let passage =
            "Net revenue: Client Computing Group | Three Months Ended Sep 30, 2023: $7,867 | Nine Months Ended Sep 30, 2023: $21,113";
        let mut hit = crate::retrieval::test_hit("/10q/intc.pdf", passage);
        hit.location.page = Some(12);
        let over_rows = "Which segment had the highest operating income in the nine months ended September 30, 2023?";
        let both = Queried { sheets: true, pdf_tables: true };
        assert!(holds_a_table(&hit, both, over_rows));
        assert!(!holds_a_table(&hit, Queried { pdf_tables: false, ..both }, over_rows), "off by the settings");
        // A statement's own line, or one fact: read from the passage.
        for look_up in ["What was total net revenue in 2023?", "What was the Client Computing Group's net revenue?"] {
            assert!(!holds_a_table(&hit, both, look_up), "{look_up}");
        }
        let prose = crate::retrieval::test_hit("/10q/intc.pdf", "Revenue was highest in the Client Computing Group.");
        assert!(!holds_a_table(&prose, both, over_rows), "no rows in the passage");

        // Its table: the one of the file the question names most, then the one holding its rows.
        let statement = Table {
            caption: vec!["Consolidated Condensed Statements of Income (In Millions)".into()],
            rows: vec![TableRow { row: 1, cells: ["Net revenue", "", "$14,158", "$38,822"].map(String::from).to_vec() }],
            ..segments_on_page(6)
        };
        let tables = vec![statement, segments_on_page(11), segments_on_page(12)];
        let chosen = |question: &str| {
            choose_table(&tables, &Place::Page { page: 12, text: passage }, &name_words(question), "intc").map(|(_, t)| t.page)
        };
        assert_eq!(chosen(over_rows), Some(Some(12)), "the passage's own among alike");
        assert_eq!(chosen("Which line of the statements of income was the highest?"), Some(Some(6)), "the one the question names");
        assert!(choose_table(&tables, &Place::Sheet { name: "page 12", rows: None }, &name_words(over_rows), "intc").is_none(), "no sheet");
        // A question that names one of its rows whole asks for that row, unless that label is on
        // several rows (one per group): then it compares them.
        let segments = segments_on_page(12);
        assert!(!names_a_row_whole(over_rows, &segments));
        assert!(!names_a_row_whole("Which quarter was best for the Data Center and AI group?", &segments), "on two rows");
        let by_segment = Table {
            rows: vec![
                TableRow { row: 1, cells: ["Net sales", "North America", "82,546"].map(String::from).to_vec() },
                TableRow { row: 2, cells: ["Net sales", "AWS", "22,140"].map(String::from).to_vec() },
                TableRow { row: 3, cells: ["Shares outstanding", "", "10,300"].map(String::from).to_vec() },
            ],
            ..segments_on_page(19)
        };
        assert!(!names_a_row_whole("Which segment had the lowest net sales?", &by_segment));
        assert!(names_a_row_whole("How many shares outstanding were there?", &by_segment));
    }

    #[test]
    fn a_question_naming_what_the_file_does_not_is_not_over_its_table() {
        let table = segments_on_page(12);
        let asks = |q: &str, identity: &str| name_not_in(q, &table, "/10q/2023 Q3 INTC.pdf", identity);
        assert_eq!(asks("Which Intel segment had the highest net revenue?", "Intel Corporation Form 10-Q"), None);
        assert_eq!(asks("Which segment earned most in the Client Computing Group?", ""), None, "a name in the cells");
        assert_eq!(asks("How many stores did Walmart open in 2023?", "Intel Corporation Form 10-Q").as_deref(), Some("Walmart"));
        assert_eq!(asks("Which Intel segment had the highest net revenue?", "").as_deref(), Some("Intel"), "not in the table or path");
    }

    #[tokio::test]
    async fn a_query_that_reads_no_row_touches_nothing() {
        let sheet = depots();
        let none = run(&sheet, "SELECT COUNT(*) FROM sheet WHERE region = 'Walmart'").await.unwrap();
        assert!(none.rows_read.is_empty() && none.rows == vec![vec!["0".to_string()]], "{none:?}");
    }

    #[tokio::test]
    async fn a_pdf_table_is_queried_by_its_group_and_period_columns() {
        let sheet = SheetTable::new(segments_on_page(12));
        assert_eq!(sheet.names, vec!["line_item", "group_label", "three_months_ended_sep_30_2023", "nine_months_ended_sep_30_2023"]);
        let best = run(
            &sheet,
            "SELECT line_item FROM sheet WHERE group_label ILIKE 'operating income%' ORDER BY nine_months_ended_sep_30_2023 DESC LIMIT 1",
        )
        .await
        .unwrap();
        assert_eq!(best.rows, vec![vec!["Client Computing Group".to_string()]]);
        assert_eq!(best.rows_read, vec![3, 4]);
    }

    #[test]
    fn the_query_is_taken_from_the_reply_and_anything_else_is_no_query() {
        assert_eq!(query_in("```sql\nSELECT COUNT(*) FROM sheet;\n```").as_deref(), Some("SELECT COUNT(*) FROM sheet"));
        assert_eq!(
            query_in("SELECT depot FROM sheet WHERE vans > 10; -- done").as_deref(),
            Some("SELECT depot FROM sheet WHERE vans > 10")
        );
        assert_eq!(query_in("I cannot answer this."), None);
        assert_eq!(query_in("```\nDELETE FROM sheet\n```"), None);
        let model = ScriptedModel::answering("```sql\nSELECT MAX(vans) FROM sheet\n```");
        assert_eq!(
            write_query(&model, &depots(), "Which depot has the most vans?", None).unwrap().as_deref(),
            Some("SELECT MAX(vans) FROM sheet")
        );
        // A correction is asked for in the same conversation, with the failed query and its error.
        let retry = prompt(&model, &depots(), "Which depot has the most vans?", Some(("SELECT MAX(van) FROM sheet", "No field named van")))
            .unwrap();
        assert!(retry.contains("SELECT MAX(van) FROM sheet") && retry.contains("That query failed: No field named van"), "{retry}");
    }
}
