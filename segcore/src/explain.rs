//! What the matcher did for a query: one step per node of the predicate, with the method used,
//! the size it expected and the size it found.

use std::fmt;

/// How a step was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// Set operations over the indexes only.
    Index,
    /// Each candidate tested one at a time by the reference evaluator (the candidates are what
    /// the enclosing steps left, narrowed by an index where one applies).
    Scan,
    /// Sets filed by UTC day (an event's day buckets, a timestamp attribute's days): days
    /// wholly inside the window or range from their member sets, the partly covered edge days
    /// from the exact times.
    Buckets,
    /// `did e <count> times`: each profile's events in the window tallied from the rows the day
    /// buckets keep, without visiting any profile.
    Tally,
    /// `first(e)`, `last(e)` or `did e`: the first/last day sets, whole days from their sets,
    /// the edge days from their rows' times.
    Occurrence,
    /// `within r of (lat, lon)`: position cells wholly inside the circle from their sets, the
    /// profiles in cells across its edge by the distance test.
    Grid,
    /// An aggregate read from each profile's running aggregate of the property, with the
    /// profiles that have events outside the window tested one by one.
    Totals,
    /// `and`: the parts in turn (index sets, then compound parts, then scans), each on what
    /// the previous left.
    And,
    /// `or`: the parts in turn, each on what earlier parts did not match.
    Or,
    /// `not`: the complement within the step's input.
    Not,
    /// A named segment: its definition, on the step's input.
    Segment,
    /// A named segment this query already evaluated on a superset of the step's input: its
    /// members there, intersected with the input.
    Reused,
    /// Not run: an earlier part of an `and` left nothing, or of an `or` everything.
    Skipped,
}

impl Method {
    /// The method's lower-case name, as `explain` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Index => "index",
            Method::Scan => "scan",
            Method::Buckets => "buckets",
            Method::Tally => "tally",
            Method::Occurrence => "occurrence",
            Method::Grid => "grid",
            Method::Totals => "totals",
            Method::And => "and",
            Method::Or => "or",
            Method::Not => "not",
            Method::Segment => "segment",
            Method::Reused => "reused",
            Method::Skipped => "skipped",
        }
    }
}

/// One step of a query plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The condition, in canonical text (or the segment's name).
    pub label: String,
    /// How it was answered.
    pub method: Method,
    /// Profiles the step was given.
    pub input: u64,
    /// The planner's estimate of the matching profiles before running the step.
    pub estimated: u64,
    /// The matching profiles it found.
    pub actual: u64,
    /// Wall-clock time the step took, its sub-steps included.
    pub elapsed: std::time::Duration,
    /// Sub-steps, in the order they ran.
    pub children: Vec<PlanStep>,
}

/// The plan of one query, as run.
///
/// ```
/// use segcore::Audience;
/// let mut a = Audience::new();
/// a.upsert("ada", [("country", "SE".into())])?;
/// a.tag("ada", "vip", "2024-01-01T00:00:00Z".parse().unwrap())?;
/// let p = a.predicate(r#"tag "vip" and country == "SE""#)?;
/// let plan = a.explain(&p, "2024-06-01T00:00:00Z".parse().unwrap())?;
/// assert_eq!(plan.root.actual, 1);
/// println!("{plan}");
/// # Ok::<(), segcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explain {
    /// The top step.
    pub root: PlanStep,
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write(f: &mut fmt::Formatter<'_>, step: &PlanStep, depth: usize) -> fmt::Result {
            writeln!(
                f,
                "{:indent$}{} [{}] in={} est={} actual={} {:.0?}",
                "",
                step.label,
                step.method.name(),
                step.input,
                step.estimated,
                step.actual,
                step.elapsed,
                indent = depth * 2
            )?;
            step.children
                .iter()
                .try_for_each(|c| write(f, c, depth + 1))
        }
        write(f, &self.root, 0)
    }
}
