//! Personalised messages: Jinja-style templates (through minijinja) rendered with a profile's
//! fields. A template is checked when it is made, so a syntax error surfaces at definition
//! with its line and column; a field the profile lacks renders as nothing (or as the
//! template's `default(...)`), never as an error.
//!
//! A template's [`Escape`] says what its output is: plain text (values go in as they are) or
//! HTML (every value is HTML-escaped as it goes in, so a first name of `<script>` is shown,
//! not run; `{{ value | safe }}` opts one trusted value out). Text is the default for
//! [`Template::parse`], because messages go to SMS, push and plain e-mail as often as to HTML;
//! whatever puts a message into a page must ask for [`Escape::Html`].

use std::fmt;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::error::{line_column, Error, Result};

/// How much work one render may do (minijinja's fuel): far beyond any message, and a bound on a
/// hostile template's loops.
const FUEL: u64 = 100_000;

/// The longest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// What a template's output is, and so how the values put into it are escaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Escape {
    /// Plain text: values go in as they are.
    #[default]
    None,
    /// HTML: `<`, `>`, `&`, `"`, `'` and `/` in values are written as entities.
    Html,
}

impl Escape {
    /// `none` or `html`.
    pub fn from_name(name: &str) -> Result<Escape> {
        match name {
            "none" => Ok(Escape::None),
            "html" => Ok(Escape::Html),
            other => Err(Error::InvalidValue(format!(
                "`{other}` is not a template escape; expected none or html"
            ))),
        }
    }

    /// Whether this is [`Escape::None`] (what a decision's JSON leaves out).
    pub fn is_none(&self) -> bool {
        *self == Escape::None
    }
}

/// A message template, e.g. `Hej {{ first_name | default("där") }}!`.
///
/// ```
/// use segcore::Template;
///
/// let t = Template::parse(r#"Hej {{ first_name | default("där") }}!"#)?;
/// assert_eq!(t.render_json(&serde_json::json!({"first_name": "Ada"}))?, "Hej Ada!");
/// assert_eq!(t.render_json(&serde_json::json!({}))?, "Hej där!");
///
/// let e = Template::parse("Hej {{ first_name ").unwrap_err();
/// assert_eq!(e.kind(), "template");
/// # Ok::<(), segcore::Error>(())
/// ```
#[derive(Clone)]
pub struct Template {
    source: String,
    escape: Escape,
    env: Arc<Environment<'static>>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template")
            .field(&self.source)
            .field(&self.escape)
            .finish()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.escape == other.escape
    }
}

impl Template {
    /// Compiles a plain-text template ([`Escape::None`]); a syntax error is
    /// [`Error::Template`] with its line and column.
    pub fn parse(source: &str) -> Result<Template> {
        Template::with_escape(source, Escape::None)
    }

    /// Compiles a template whose values are escaped as `escape` says.
    ///
    /// ```
    /// use segcore::{Escape, Template};
    /// let fields = serde_json::json!({"first_name": "<script>alert(1)</script>"});
    ///
    /// let page = Template::with_escape("<h1>Hi {{ first_name }}</h1>", Escape::Html)?;
    /// assert_eq!(
    ///     page.render_json(&fields)?,
    ///     "<h1>Hi &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</h1>"
    /// );
    /// let sms = Template::parse("Hi {{ first_name }}")?;
    /// assert_eq!(sms.render_json(&fields)?, "Hi <script>alert(1)</script>");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn with_escape(source: &str, escape: Escape) -> Result<Template> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(Error::Template {
                line: 1,
                column: 1,
                message: format!("a template holds at most {MAX_TEMPLATE_BYTES} bytes"),
            });
        }
        let mut env = Environment::new();
        // Missing fields (and fields of missing fields) are empty, so `default` applies.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(move |_| match escape {
            Escape::None => AutoEscape::None,
            Escape::Html => AutoEscape::Html,
        });
        env.add_template_owned("message", source.to_owned())
            .map_err(|e| template_error(source, &e))?;
        Ok(Template {
            source: source.to_owned(),
            escape,
            env: Arc::new(env),
        })
    }

    /// The template's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How its values are escaped.
    pub fn escape(&self) -> Escape {
        self.escape
    }

    /// Renders with `context`'s fields (a JSON object; anything else gives no fields).
    /// Fails only on what a template does wrong at run time (a filter given the wrong kind of
    /// value, a loop that runs out of fuel), never on a missing field.
    pub fn render_json(&self, context: &serde_json::Value) -> Result<String> {
        let template = self
            .env
            .get_template("message")
            .map_err(|e| template_error(&self.source, &e))?;
        let context = match context {
            serde_json::Value::Object(_) => minijinja::Value::from(Serde(context)),
            _ => minijinja::Value::from(Serde(serde_json::Map::new())),
        };
        template
            .render(context)
            .map_err(|e| template_error(&self.source, &e))
    }
}

/// A minijinja error as ours, placed by line and column where it says where.
fn template_error(source: &str, e: &minijinja::Error) -> Error {
    let (line, column) = match e.range() {
        Some(range) => line_column(source, range.start),
        None => (e.line().unwrap_or(1), 1),
    };
    let message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    Error::Template {
        line,
        column,
        message,
    }
}
