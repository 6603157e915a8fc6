//! Splits the text after `/cws` into words, the way a shell would, tuned for chat clients.
//!
//! - Whitespace separates words.
//! - Double quotes (`"`, `“`, `”`) and single quotes (`'`, `‘`, `’`) group words. Smart quotes
//!   count because Slack clients substitute them as people type; any quote of the same kind
//!   closes, since clients are not consistent about left and right.
//! - A quote opens only at the start of a word, right after `=` (`--description="…"`) or right
//!   after a closing quote. Inside a word it is a literal character, because chat text is full
//!   of apostrophes (`Jen’s`).
//! - Inside double quotes a backslash escapes a quote or a backslash; outside quotes it escapes
//!   a quote. Anywhere else it is literal, so paths keep their backslashes.
//! - A backslash at the end of a line continues the command on the next line, as in the
//!   multi-line CLI examples people paste. Other line breaks end the command line: what follows
//!   is either more words or, for commands that take one, a pasted body such as a CSV.

use super::error::{ParseError, ParseErrorKind};

/// One word of the command line, with its quotes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) text: String,
    /// The word began with a quote, so it is never read as a flag: `"--size"` is text.
    pub(crate) quoted: bool,
}

impl Token {
    /// Splits a flag word into its name (without `--`) and its inline `=value`, or returns
    /// `None` when the word is not a flag. A flag is an unquoted `--` followed by a letter.
    pub(crate) fn flag(&self) -> Option<(&str, Option<&str>)> {
        let rest = self.text.strip_prefix("--").filter(|_| !self.quoted)?;
        if !rest.starts_with(|c: char| c.is_alphabetic()) {
            return None;
        }
        Some(match rest.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (rest, None),
        })
    }

    pub(crate) fn is_flag(&self) -> bool {
        self.flag().is_some()
    }
}

impl AsRef<str> for Token {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Double,
    Single,
}

fn quote_kind(c: char) -> Option<Quote> {
    match c {
        '"' | '“' | '”' => Some(Quote::Double),
        '\'' | '‘' | '’' => Some(Quote::Single),
        _ => None,
    }
}

/// Reads words line by line so the caller can decide, once it knows the command, whether the
/// lines after the first are more words or a body to keep verbatim.
pub(crate) struct Lexer<'a> {
    input: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Lexer { input, pos: 0 }
    }

    /// The text not read yet, starting after the last line break consumed.
    pub(crate) fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// Appends the words up to the next line break that is outside quotes and not escaped,
    /// and consumes that line break. Words read before an error stay in `tokens`, so the
    /// caller can still tell which command an unterminated quote belongs to.
    pub(crate) fn line_into(&mut self, tokens: &mut Vec<Token>) -> Result<(), ParseError> {
        loop {
            if self.continuation() {
                continue;
            }
            match self.peek() {
                None => return Ok(()),
                Some('\n') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(c) if c.is_whitespace() => self.pos += c.len_utf8(),
                Some(_) => tokens.push(self.word()?),
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes a backslash followed by a line break, if one starts here.
    fn continuation(&mut self) -> bool {
        let rest = self.rest().as_bytes();
        if rest.first() != Some(&b'\\') {
            return false;
        }
        for pattern in ["\\\n", "\\\r\n"] {
            if self.rest().starts_with(pattern) {
                self.pos += pattern.len();
                return true;
            }
        }
        false
    }

    /// Consumes the longest run of characters that need none of the rules above and returns
    /// it, so most of a word is copied at once: ASCII, no quote, no backslash, not whitespace
    /// (bar the space inside quotes), and outside quotes no `=` (a quote may open after one).
    fn plain_run(&mut self, in_quotes: bool) -> &'a str {
        let rest = self.rest();
        let len = rest
            .bytes()
            .position(|b| match b {
                b'"' | b'\'' | b'\\' => true,
                b'=' => !in_quotes,
                b' ' => !in_quotes,
                b => !b.is_ascii_graphic(),
            })
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn word(&mut self) -> Result<Token, ParseError> {
        let start = self.pos;
        let quoted = self.peek().and_then(quote_kind).is_some();
        let mut text = String::new();
        let mut quote_may_open = true;
        while !self.continuation() {
            let run = self.plain_run(false);
            if !run.is_empty() {
                text.push_str(run);
                quote_may_open = false;
                continue;
            }
            let Some(c) = self.peek().filter(|c| !c.is_whitespace()) else {
                break;
            };
            if let Some(quote) = quote_kind(c).filter(|_| quote_may_open) {
                self.quoted(start, quote, &mut text)?;
                continue;
            }
            self.bump();
            match self.peek() {
                Some(next) if c == '\\' && quote_kind(next).is_some() => {
                    self.bump();
                    text.push(next);
                }
                _ => text.push(c),
            }
            quote_may_open = c == '=';
        }
        Ok(Token { text, quoted })
    }

    /// Reads a quoted section that opens at the current position, appending its content.
    fn quoted(
        &mut self,
        word_start: usize,
        quote: Quote,
        text: &mut String,
    ) -> Result<(), ParseError> {
        let open = self.pos;
        self.bump();
        loop {
            if quote == Quote::Double && self.continuation() {
                continue;
            }
            let run = self.plain_run(true);
            if !run.is_empty() {
                text.push_str(run);
                continue;
            }
            let Some(c) = self.bump() else {
                return Err(self.unterminated(word_start, open));
            };
            if quote_kind(c) == Some(quote) {
                return Ok(());
            }
            match self.peek() {
                Some(next)
                    if quote == Quote::Double
                        && c == '\\'
                        && (next == '\\' || quote_kind(next) == Some(Quote::Double)) =>
                {
                    self.bump();
                    text.push(next);
                }
                _ => text.push(c),
            }
        }
    }

    fn unterminated(&self, word_start: usize, open: usize) -> ParseError {
        let line_end = self.input[open..]
            .find('\n')
            .map_or(self.input.len(), |i| open + i);
        let word = self.input[word_start..line_end].trim_end();
        let position = self.input[..open].chars().count() + 1;
        ParseError::at(ParseErrorKind::UnterminatedQuote { position }, word)
    }
}

/// Writes `text` as one word that [`Lexer`] reads back unchanged: bare when that is safe,
/// otherwise in double quotes with quotes and backslashes escaped.
pub(crate) fn quote(text: &str) -> String {
    let bare = !text.is_empty()
        && !text.starts_with('-')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '\\' || quote_kind(c).is_some());
    if bare {
        return text.to_owned();
    }
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '\\' || quote_kind(c) == Some(Quote::Double) {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All words of `input`, line breaks included, as (text, quoted) pairs.
    fn words(input: &str) -> Result<Vec<(String, bool)>, ParseError> {
        let mut lexer = Lexer::new(input);
        let mut tokens = Vec::new();
        while !lexer.rest().is_empty() {
            lexer.line_into(&mut tokens)?;
        }
        Ok(tokens.into_iter().map(|t| (t.text, t.quoted)).collect())
    }

    fn texts(input: &str) -> Vec<String> {
        words(input)
            .unwrap()
            .into_iter()
            .map(|(text, _)| text)
            .collect()
    }

    #[test]
    fn splits_on_whitespace_and_groups_quotes() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  launch  x ", &["launch", "x"]),
            (
                r#"launch "Python Machine Learning" mit-dev"#,
                &["launch", "Python Machine Learning", "mit-dev"],
            ),
            (
                "launch “Python Machine Learning” mit-dev",
                &["launch", "Python Machine Learning", "mit-dev"],
            ),
            ("launch ”R Research” x", &["launch", "R Research", "x"]),
            ("launch 'R Research' x", &["launch", "R Research", "x"]),
            ("launch ‘R Research’ x", &["launch", "R Research", "x"]),
            (
                r#"--description="NIH R01: x""#,
                &["--description=NIH R01: x"],
            ),
            ("--description=“NIH R01”", &["--description=NIH R01"]),
            (r#""say \"hi\" \\ there""#, &[r#"say "hi" \ there"#]),
            (r#""C:\path""#, &[r"C:\path"]),
            (r"C:\path", &[r"C:\path"]),
            (r#"\"bare"#, &[r#""bare"#]),
            ("Jen’s Jen's data", &["Jen’s", "Jen's", "data"]),
            (r#""a"'b'c"#, &["abc"]),
            (r#""""#, &[""]),
            ("a\u{a0}b\tc", &["a", "b", "c"]),
        ];
        for (input, expected) in cases {
            assert_eq!(texts(input), *expected, "{input}");
        }
    }

    #[test]
    fn quoted_words_are_never_flags() {
        let tokens = words(r#"--size "--size" --size=XL"#).unwrap();
        assert_eq!(tokens[1], ("--size".to_owned(), true));
        let tokens: Vec<Token> = ["--size", "--size=XL", "--", "--5", "-s"]
            .into_iter()
            .map(|text| Token {
                text: text.to_owned(),
                quoted: false,
            })
            .collect();
        let flags: Vec<_> = tokens.iter().map(Token::flag).collect();
        assert_eq!(
            flags,
            [
                Some(("size", None)),
                Some(("size", Some("XL"))),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn backslash_newline_continues_the_line() {
        let mut lexer =
            Lexer::new("project create x \\\n--budget 5000 \\\r\n--alert-threshold 75\nrest");
        let mut tokens = Vec::new();
        lexer.line_into(&mut tokens).unwrap();
        assert_eq!(tokens.len(), 7);
        assert_eq!(lexer.rest(), "rest");
    }

    #[test]
    fn line_breaks_inside_quotes_are_text() {
        let mut lexer = Lexer::new("a \"b\nc\" d\ne");
        let mut tokens = Vec::new();
        lexer.line_into(&mut tokens).unwrap();
        let texts: Vec<_> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["a", "b\nc", "d"]);
        assert_eq!(lexer.rest(), "e");
    }

    #[test]
    fn unterminated_quote_names_its_word_and_position() {
        let error = words("launch “Python Machine Learning mit-dev\nmore").unwrap_err();
        assert_eq!(
            error.kind(),
            &ParseErrorKind::UnterminatedQuote { position: 8 }
        );
        assert_eq!(error.token(), Some("“Python Machine Learning mit-dev"));
        let error = words("x --description='NIH").unwrap_err();
        assert_eq!(error.token(), Some("--description='NIH"));
        assert_eq!(
            error.kind(),
            &ParseErrorKind::UnterminatedQuote { position: 17 }
        );
    }

    #[test]
    fn quote_roundtrips() {
        for text in [
            "plain",
            "",
            "two words",
            "--flag",
            "a=b",
            r#"say "hi""#,
            "“x”",
            "it's",
            r"back\slash",
            "line\nbreak",
        ] {
            assert_eq!(texts(&quote(text)), [text], "{text}");
        }
        assert_eq!(quote("mit-dev"), "mit-dev");
        assert_eq!(
            quote("Python Machine Learning"),
            r#""Python Machine Learning""#
        );
    }
}
