//! Failures on their way to JavaScript: `Error`s whose `code` is `SEGCORE_` and the core's
//! stable kind in capitals (`SEGCORE_PARSE`, ...), or `SEGCORE_ARGUMENT` for an argument the
//! binding cannot read; parse and template errors carry `line` and `column`, bulk rows carry
//! `row`. A panic (a bug in segcore) is caught where a call crosses into Rust and thrown as
//! `SEGCORE_INTERNAL` instead of aborting the process ([`guard`]).

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// A failure on its way to JavaScript.
pub enum Failure {
    /// The core refused.
    Core(segcore::Error),
    /// An argument of the wrong type or shape; the message names it.
    Argument(String),
    /// Row `.0` of a bulk call failed; the rows before it were written.
    AtRow(usize, Box<Failure>),
    /// A panic inside segcore: a bug, caught before it reached JavaScript.
    Internal(String),
}

/// Runs one call's work, turning a panic into [`Failure::Internal`] so that a bug in segcore
/// throws an error instead of aborting the Node process.
pub(crate) fn guard<T>(work: impl FnOnce() -> Read<T>) -> Read<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic".to_owned());
        Err(Failure::Internal(what))
    })
}

/// [`guard`] for an async twin's work on its worker thread, where a panic would otherwise abort
/// the process.
pub(crate) fn guard_task<T>(work: impl FnOnce() -> Result<Read<T>>) -> Result<Read<T>> {
    Ok(guard(|| work().unwrap_or_else(|e| Err(napi_failure(e)))))
}

/// Results of reading arguments or of the core.
pub type Read<T> = std::result::Result<T, Failure>;

pub(crate) fn argument(message: String) -> Failure {
    Failure::Argument(message)
}

/// napi could not read a value whose type was already checked (it should not happen).
pub(crate) fn napi_failure(e: Error) -> Failure {
    Failure::Argument(e.reason.clone())
}

/// Marks a failure as row `row`'s of a bulk call.
pub(crate) fn at_row(row: usize) -> impl Fn(Failure) -> Failure {
    move |f| Failure::AtRow(row, Box::new(f))
}

impl From<segcore::Error> for Failure {
    fn from(e: segcore::Error) -> Self {
        Failure::Core(e)
    }
}

/// The JavaScript `Error` for a failure.
fn thrown(env: &Env, failure: Failure) -> Error {
    let (mut row, mut failure) = (None, failure);
    while let Failure::AtRow(r, inner) = failure {
        row.get_or_insert(r);
        failure = *inner;
    }
    let (code, mut message, position) = match &failure {
        Failure::Core(e) => {
            let position = match e {
                segcore::Error::Parse(p) => Some((p.line as u32, p.column as u32)),
                segcore::Error::Json { line, column, .. } => Some((*line as u32, *column as u32)),
                segcore::Error::Template { line, column, .. } => {
                    Some((*line as u32, *column as u32))
                }
                _ => None,
            };
            (
                format!("SEGCORE_{}", e.kind().to_uppercase()),
                e.to_string(),
                position,
            )
        }
        Failure::Argument(m) => ("SEGCORE_ARGUMENT".to_owned(), m.clone(), None),
        Failure::Internal(what) => (
            "SEGCORE_INTERNAL".to_owned(),
            format!(
                "internal error (a bug in segcore; please report it): {what}. The audience may \
                 be inconsistent: open or build it again before relying on it"
            ),
            None,
        ),
        // Peeled off above.
        Failure::AtRow(..) => ("SEGCORE_ARGUMENT".to_owned(), String::new(), None),
    };
    if let Some(row) = row {
        message = format!("row {row}: {message}");
    }
    let build = || -> Result<Error> {
        let mut error = env.create_error(Error::new(Status::GenericFailure, message.clone()))?;
        error.set_named_property("code", code.as_str())?;
        if let Some((line, column)) = position {
            error.set_named_property("line", line)?;
            error.set_named_property("column", column)?;
        }
        if let Some(row) = row {
            error.set_named_property("row", row as u32)?;
        }
        if let Failure::Core(segcore::Error::Locked { pid: Some(pid), .. }) = &failure {
            error.set_named_property("pid", *pid)?;
        }
        if let Failure::Core(segcore::Error::Input {
            origin,
            line,
            reason,
        }) = &failure
        {
            error.set_named_property("origin", origin.as_str())?;
            if let Some(line) = line {
                error.set_named_property("line", *line as f64)?;
            }
            error.set_named_property("reason", reason.as_str())?;
        }
        Ok(Error::from(napi::JsValue::to_unknown(&error)))
    };
    // If even building the error fails, still throw one that says what went wrong.
    build().unwrap_or_else(|_| Error::new(Status::GenericFailure, format!("{code}: {message}")))
}

/// Results of the core or of argument reading, thrown as JavaScript errors.
pub(crate) trait Throw<T> {
    fn js(self, env: &Env) -> Result<T>;
}

impl<T> Throw<T> for Read<T> {
    fn js(self, env: &Env) -> Result<T> {
        self.map_err(|f| thrown(env, f))
    }
}

impl<T> Throw<T> for segcore::Result<T> {
    fn js(self, env: &Env) -> Result<T> {
        self.map_err(|e| thrown(env, Failure::Core(e)))
    }
}

/// The `code` of every error segcore throws (`error.code`), one per kind of mistake.
#[napi(string_enum)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ErrorCode {
    /// Predicate text that does not parse; the error has `line` and `column`.
    SEGCORE_PARSE,
    /// Predicate JSON that does not read; the error has `line` and `column`.
    SEGCORE_JSON,
    /// A name the audience does not know; the message names the nearest known one.
    SEGCORE_UNKNOWN_NAME,
    /// A value whose type does not fit the schema.
    SEGCORE_SCHEMA,
    /// A comparison whose types do not fit.
    SEGCORE_TYPE,
    /// A value no type admits (NaN, an empty name, a malformed tag or zone, a time out of
    /// range, a size too large).
    SEGCORE_INVALID_VALUE,
    /// A predicate nested too deeply (or a segment, with the segments it refers to).
    SEGCORE_TOO_DEEP,
    /// A segment definition that would refer to itself.
    SEGCORE_CYCLE,
    /// A segment other segments still refer to.
    SEGCORE_SEGMENT_IN_USE,
    /// Bytes that are not an intact audience image.
    SEGCORE_CORRUPT,
    /// A file that could not be read or written (the message names it).
    SEGCORE_IO,
    /// A file written in a format version this build cannot read (the message names the
    /// versions expected and found).
    SEGCORE_VERSION,
    /// A durable directory another writer holds open; the error has `pid` when known.
    SEGCORE_LOCKED,
    /// A message template that does not compile (the error has `line` and `column`) or fails
    /// while rendering.
    SEGCORE_TEMPLATE,
    /// A live-membership call before `startLive`.
    SEGCORE_NOT_LIVE,
    /// `advanceTo` an instant before the clock.
    SEGCORE_CLOCK_BACKWARDS,
    /// A write refused (nothing applied) while the transition queue is full: drain it first.
    SEGCORE_QUEUE_FULL,
    /// A row or message that cannot be loaded, from a load asked to fail whole or from one
    /// message: the error has `origin` (the file), `line` (when there are lines) and `reason`.
    SEGCORE_INPUT,
    /// An argument of the wrong type or shape (the message names it; bulk rows set `row`),
    /// or text holding a lone surrogate.
    SEGCORE_ARGUMENT,
    /// A bug in segcore (a Rust panic), caught instead of aborting the process: the audience
    /// may be inconsistent, so open or build it again before relying on it.
    SEGCORE_INTERNAL,
}
