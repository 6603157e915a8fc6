//! The CSV files the product writes (chargeback statements, audit exports) are opened in
//! spreadsheets by grants offices and auditors, and a cell that starts with `=`, `+`, `-`, `@`,
//! a tab or a carriage return is run there as a formula (CSV injection). Every CSV goes through
//! [`SpreadsheetCsv`], which neutralises such cells as OWASP recommends: a `'` in front makes
//! the spreadsheet show the text as written instead of running it.
//!
//! A cell that is a plain decimal number (`-12`, `3.5`) is left as it is: a spreadsheet reads
//! it as that number, nothing runs, and sums over amounts keep working.

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula (or, for tab and CR, that
/// some spreadsheets strip before doing so).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell`, with a `'` in front when a spreadsheet would run it as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-`, digits, and at most one `.` between digits: `-12`, `0.5`, `-3.25`.
fn is_plain_number(cell: &str) -> bool {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// A CSV file being written in memory, every cell neutralised.
pub struct SpreadsheetCsv {
    writer: csv::Writer<Vec<u8>>,
}

impl SpreadsheetCsv {
    pub fn new() -> Self {
        SpreadsheetCsv {
            writer: csv::Writer::from_writer(Vec::new()),
        }
    }

    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralise(cell.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .expect("writing to memory cannot fail");
    }

    pub fn finish(self) -> String {
        let bytes = self
            .writer
            .into_inner()
            .expect("writing to memory cannot fail");
        String::from_utf8(bytes).expect("every cell is a str")
    }
}

impl Default for SpreadsheetCsv {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted_and_numbers_kept() {
        let cases = [
            ("=1+1", "'=1+1"),
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-", "'-"),
            ("-.5", "'-.5"),
            ("-12", "-12"),
            ("-3.25", "-3.25"),
            ("1.5", "1.5"),
            ("MIT", "MIT"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (cell, written) in cases {
            assert_eq!(neutralise(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn the_file_reads_back_as_text() {
        let mut csv = SpreadsheetCsv::new();
        csv.row(["institution", "cost"]);
        csv.row(["=1+1", "-12"]);
        let text = csv.finish();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!((&row[0], &row[1]), ("'=1+1", "-12"));
    }
}
