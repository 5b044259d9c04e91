//! Personalisation decisions: which variant of a message, offer or layout each profile gets.
//!
//! What it decides:
//! - **the variant**: a decision's rules (a segment or an inline predicate each) are tried in
//!   order through the reference evaluator (`decide`) or as member sets through the matcher
//!   (`assign`, for a whole audience), the first that holds picks; otherwise the default;
//! - **the control group**: a fixed hash of the decision's name and the profile's id
//!   (`holdout.rs`, specified so it can be reproduced anywhere) holds out a share of profiles,
//!   who get the default variant and are listed apart for a send;
//! - **the message**: a variant's template (`template.rs`, minijinja) rendered with the
//!   profile's fields, where a missing field is empty or its `default(...)`.

mod audience;
mod decision;
mod holdout;
mod template;

pub use audience::{Assignment, ChosenBy, Decided};
pub use decision::{Decision, Rule, Variant};
pub use holdout::{holdout_fraction, in_holdout};
pub use template::{Escape, Template, MAX_TEMPLATE_BYTES};

pub(crate) use decision::Compiled;
