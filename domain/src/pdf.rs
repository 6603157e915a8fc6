//! Reports as PDF: a title block, headings, prose and monospace tables, laid out on US Letter
//! pages with a running footer. Text uses the standard Helvetica and Courier fonts every PDF
//! reader has, so nothing is embedded; they speak Windows-1252 (WinAnsiEncoding), and a
//! character outside it prints as `?`.

use pdf_writer::{Content, Date, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use time::OffsetDateTime;

const PAGE_WIDTH: f32 = 612.0;
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN: f32 = 50.0;
/// The footer's baseline, below the text area.
const FOOTER_Y: f32 = 30.0;

const TITLE_SIZE: f32 = 16.0;
const HEADING_SIZE: f32 = 11.5;
const TEXT_SIZE: f32 = 9.5;
const MONO_SIZE: f32 = 7.5;

/// Characters of Courier at [`MONO_SIZE`] (0.6 em wide each) that fit between the margins.
pub const MONO_COLUMNS: usize = 117;
/// Characters of prose per line: Helvetica averages about half an em, so this leaves room
/// for wide letters.
const TEXT_COLUMNS: usize = 100;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const MONO: Name<'static> = Name(b"F3");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Title,
    Heading,
    Text,
    Mono,
    /// A table's header, repeated on every page the table spans.
    MonoHeader,
}

impl Style {
    fn font(self) -> (Name<'static>, f32) {
        match self {
            Style::Title => (BOLD, TITLE_SIZE),
            Style::Heading => (BOLD, HEADING_SIZE),
            Style::Text => (REGULAR, TEXT_SIZE),
            Style::Mono | Style::MonoHeader => (MONO, MONO_SIZE),
        }
    }

    /// Space from the previous baseline to this line's.
    fn advance(self) -> f32 {
        match self {
            Style::Title => 22.0,
            Style::Heading => 22.0,
            Style::Text => 13.0,
            Style::Mono | Style::MonoHeader => 9.5,
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    style: Style,
    text: String,
    /// The table header this line belongs under, repeated when the table goes on over a page.
    header: Option<usize>,
}

/// One column of a [`PdfDocument::table`]: its heading and width in characters.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub heading: &'static str,
    pub width: usize,
}

/// A report being written, line by line; [`PdfDocument::finish`] lays it out in pages.
#[derive(Debug)]
pub struct PdfDocument {
    title: String,
    footer: String,
    created: OffsetDateTime,
    lines: Vec<Line>,
}

impl PdfDocument {
    /// A document whose first line is `title`; `footer` runs at the foot of every page with
    /// the page number.
    pub fn new(title: &str, footer: &str, created: OffsetDateTime) -> PdfDocument {
        let mut document = PdfDocument {
            title: title.to_owned(),
            footer: footer.to_owned(),
            created,
            lines: Vec::new(),
        };
        document.push(Style::Title, title.to_owned(), None);
        document
    }

    fn push(&mut self, style: Style, text: String, header: Option<usize>) {
        self.lines.push(Line {
            style,
            text,
            header,
        });
    }

    pub fn heading(&mut self, text: &str) {
        self.push(Style::Heading, text.to_owned(), None);
    }

    /// Prose, wrapped at word boundaries.
    pub fn text(&mut self, text: &str) {
        for line in wrap(text, TEXT_COLUMNS) {
            self.push(Style::Text, line, None);
        }
    }

    /// `label: value` lines, the labels aligned.
    pub fn facts(&mut self, facts: &[(&str, String)]) {
        let width = facts
            .iter()
            .map(|(label, _)| label.len())
            .max()
            .unwrap_or(0)
            + 2;
        for (label, value) in facts {
            let label = format!("{label}:");
            for (n, line) in wrap(value, MONO_COLUMNS - width).into_iter().enumerate() {
                let label = if n == 0 { label.as_str() } else { "" };
                self.push(Style::Mono, format!("{label:<width$}{line}"), None);
            }
        }
    }

    /// A table in monospace: each cell cut to its column's width with `…`, the header repeated
    /// at the top of every page the rows run onto. `rows` may be empty: `empty` says so.
    pub fn table<R>(&mut self, columns: &[Column], rows: R, empty: &str)
    where
        R: IntoIterator<Item = Vec<String>>,
    {
        let cells = |cells: Vec<String>| {
            let line: Vec<String> = cells
                .iter()
                .zip(columns)
                .map(|(cell, column)| pad(cell, column.width))
                .collect();
            line.join(" ").trim_end().to_owned()
        };
        let header = cells(columns.iter().map(|c| c.heading.to_owned()).collect());
        self.push(Style::MonoHeader, header, None);
        let header = Some(self.lines.len() - 1);
        let mut any = false;
        for row in rows {
            any = true;
            self.push(Style::Mono, cells(row), header);
        }
        if !any {
            self.push(Style::Text, empty.to_owned(), None);
        }
    }

    /// The PDF file.
    pub fn finish(self) -> Vec<u8> {
        let pages = self.paginate();
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let fonts = [
            (REGULAR, Ref::new(4), "Helvetica"),
            (BOLD, Ref::new(5), "Helvetica-Bold"),
            (MONO, Ref::new(6), "Courier"),
        ];
        let first_page = 7;
        let page_ref = |n: usize| Ref::new(first_page + 2 * n as i32);
        let content_ref = |n: usize| Ref::new(first_page + 2 * n as i32 + 1);

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids((0..pages.len()).map(page_ref))
            .count(pages.len() as i32);
        let created = &self.created;
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("cws chat-ops"))
            .creation_date(
                Date::new(created.year() as u16)
                    .month(created.month().into())
                    .day(created.day())
                    .hour(created.hour())
                    .minute(created.minute())
                    .second(created.second())
                    .utc_offset_hour(0)
                    .utc_offset_minute(0),
            );
        for (_, id, base) in fonts {
            pdf.type1_font(id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        for (n, page) in pages.iter().enumerate() {
            let mut writer = pdf.page(page_ref(n));
            writer
                .parent(tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .contents(content_ref(n));
            let mut resources = writer.resources();
            let mut font_names = resources.fonts();
            for (name, id, _) in fonts {
                font_names.pair(name, id);
            }
            font_names.finish();
            resources.finish();
            writer.finish();

            let mut content = Content::new();
            let mut y = PAGE_HEIGHT - MARGIN;
            for (index, line) in page.iter().enumerate() {
                let line = &self.lines[*line];
                if index > 0 {
                    y -= line.style.advance();
                }
                show(&mut content, line.style, MARGIN, y, &line.text);
            }
            let footer = format!("{} - page {} of {}", self.footer, n + 1, pages.len());
            show(&mut content, Style::Text, MARGIN, FOOTER_Y, &footer);
            pdf.stream(content_ref(n), &content.finish());
        }
        pdf.finish()
    }

    /// Which lines go on which page, as indexes into `lines`; a continued table's header
    /// comes first on each page it goes on to.
    fn paginate(&self) -> Vec<Vec<usize>> {
        let room = PAGE_HEIGHT - 2.0 * MARGIN;
        let mut pages: Vec<Vec<usize>> = vec![Vec::new()];
        let mut used = 0.0;
        for (index, line) in self.lines.iter().enumerate() {
            let advance = line.style.advance();
            // A heading or table header alone at the bottom of a page goes to the next one.
            let keep_with_next = matches!(line.style, Style::Heading | Style::MonoHeader);
            let needed = advance
                + if keep_with_next {
                    2.0 * Style::Mono.advance()
                } else {
                    0.0
                };
            let page = pages.last_mut().expect("there is always a page");
            if !page.is_empty() && used + needed > room {
                let mut next = Vec::new();
                used = 0.0;
                if let Some(header) = line.header {
                    next.push(header);
                    used += Style::MonoHeader.advance();
                }
                pages.push(next);
            }
            let page = pages.last_mut().expect("there is always a page");
            if page.is_empty() {
                // The first line sits at the top margin, with no advance above it.
                used = 0.0;
            }
            page.push(index);
            used += advance;
        }
        pages
    }
}

fn show(content: &mut Content, style: Style, x: f32, y: f32, text: &str) {
    let (font, size) = style.font();
    content
        .begin_text()
        .set_font(font, size)
        .next_line(x, y)
        .show(Str(&win_ansi(text)))
        .end_text();
}

/// `text` in Windows-1252, the encoding of the standard fonts; what it lacks becomes `?`.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            _ => win_ansi_high(c).unwrap_or(b'?'),
        })
        .collect()
}

/// The characters Windows-1252 puts at 0x80..=0x9F.
fn win_ansi_high(c: char) -> Option<u8> {
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201C}' => 0x93,
        '\u{201D}' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => return None,
    })
}

/// `text` cut or padded to exactly `width` characters.
fn pad(text: &str, width: usize) -> String {
    // Line breaks and tabs would break the table's columns.
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > width {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    } else {
        format!("{text:<width$}")
    }
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word: String = word.to_owned();
            while word.chars().count() > width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                lines.push(head);
            }
            let fits = line.chars().count() + 1 + word.chars().count() <= width;
            if line.is_empty() {
                line = word;
            } else if fits {
                line.push(' ');
                line.push_str(&word);
            } else {
                lines.push(std::mem::replace(&mut line, word));
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::datetime;

    /// The text a PDF reader extracts from `pdf`, page by page.
    pub(crate) fn pdf_pages(pdf: &[u8]) -> Vec<String> {
        let document = lopdf::Document::load_mem(pdf).expect("a valid PDF");
        let pages: Vec<u32> = document.get_pages().keys().copied().collect();
        pages
            .iter()
            .map(|page| document.extract_text(&[*page]).expect("the page's text"))
            .collect()
    }

    #[test]
    fn names_beyond_ascii_print_in_windows_1252_and_the_rest_as_question_marks() {
        assert_eq!(win_ansi("Müller – €5"), b"M\xfcller \x96 \x805");
        assert_eq!(win_ansi("Łukasz ✅"), b"?ukasz ?");
        let mut document =
            PdfDocument::new("Señora Núñez", "footer", datetime!(2026-06-30 12:00 UTC));
        document.table(
            &[Column {
                heading: "User",
                width: 8,
            }],
            [vec!["Zoë Ångström".to_owned()]],
            "none",
        );
        let text = pdf_pages(&document.finish()).concat();
        assert!(text.contains("Señora Núñez"), "{text}");
        assert!(text.contains("Zoë Ång…"), "{text}");
    }

    #[test]
    fn long_tables_go_on_over_pages_under_their_header() {
        let mut document = PdfDocument::new("Long", "p", datetime!(2026-06-30 12:00 UTC));
        let columns = [
            Column {
                heading: "Seq",
                width: 6,
            },
            Column {
                heading: "What",
                width: 10,
            },
        ];
        document.table(
            &columns,
            (1..=500).map(|n| vec![n.to_string(), "row".to_owned()]),
            "",
        );
        let pages = pdf_pages(&document.finish());
        assert!(pages.len() > 5, "{}", pages.len());
        for (n, page) in pages.iter().enumerate() {
            assert!(page.contains("Seq    What"), "page {n}: {page}");
            assert!(page.contains(&format!("p - page {} of {}", n + 1, pages.len())));
        }
        let rows: usize = pages
            .iter()
            .map(|page| page.lines().filter(|l| l.ends_with(" row")).count())
            .sum();
        assert_eq!(rows, 500);
    }

    #[test]
    fn prose_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("one\ntwo", 10), ["one", "two"]);
    }
}
