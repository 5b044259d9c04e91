//! The command line's arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

/// segcore: customer segments over an audience directory.
#[derive(Debug, Parser)]
#[command(name = "segcore", version, about, long_about = None)]
pub struct Cli {
    /// The audience directory (created by the first import).
    #[arg(
        long,
        short = 'd',
        global = true,
        env = "SEGCORE_DIR",
        default_value = "segcore-data"
    )]
    pub dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load Segment-spec JSONL messages or a contact CSV into the audience.
    Import(ImportArgs),
    /// Define (or redefine) segments from a segments file.
    Define(DefineArgs),
    /// How many profiles match a segment or a predicate.
    Count(QueryArgs),
    /// The ids of the profiles that match, one per line.
    Members(MembersArgs),
    /// A random sample of the members.
    Sample(SampleArgs),
    /// Write the members who may be contacted on a channel, as CSV or JSONL.
    Export(ExportArgs),
    /// Every defined segment with its size.
    Sizes(NowArgs),
    /// Why a profile is, or is not, in a segment, clause by clause.
    Why(WhyArgs),
    /// Review the segments: empty, duplicates, too small to test, no different from others.
    Advise(AdviseArgs),
    /// Print segment entries and exits as time advances or as events arrive.
    Watch(WatchArgs),
    /// Build a sample shop in a temporary directory and walk through the main job.
    Demo(DemoArgs),
}

/// The input formats of `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Segment-spec messages, one JSON object per line.
    Jsonl,
    /// A contact list with a header row.
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to load, in order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The format (by default from the extension: .jsonl, .ndjson, .json or .csv).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// CSV: the column mapping of an email tool's export (mailchimp, klaviyo).
    #[arg(long)]
    pub preset: Option<String>,
    /// CSV: the id column (instead of a preset's).
    #[arg(long)]
    pub id: Option<String>,
    /// CSV: also store the id in this attribute (e.g. email).
    #[arg(long)]
    pub id_attribute: Option<String>,
    /// CSV: a column read into an attribute, as COLUMN=NAME:TYPE (TYPE: string, number,
    /// bool, timestamp, list).
    #[arg(long = "attr", value_name = "COLUMN=NAME:TYPE")]
    pub attributes: Vec<String>,
    /// CSV: the tags column.
    #[arg(long)]
    pub tags: Option<String>,
    /// CSV: the text between two tags.
    #[arg(long, default_value = ",")]
    pub tag_separator: String,
    /// CSV: a consent column, as COLUMN=CHANNEL.
    #[arg(long = "consent", value_name = "COLUMN=CHANNEL")]
    pub consent: Vec<String>,
    /// CSV: every row grants consent on this channel (an export of subscribed members).
    #[arg(long, value_name = "CHANNEL")]
    pub subscribed: Vec<String>,
    /// CSV: the time of the tags and consent decisions (default: now).
    #[arg(long)]
    pub at: Option<Timestamp>,
    /// Load nothing if any row or message is bad (default: load the rest and report).
    #[arg(long)]
    pub strict: bool,
    /// JSONL: the longest line read, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_line_bytes: usize,
}

#[derive(Debug, Args)]
pub struct DefineArgs {
    /// A segments file: `name = predicate` per segment, continued on indented lines, `#`
    /// comments; or a JSON object of name → predicate text.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct NowArgs {
    /// The instant membership is taken at (default: now).
    #[arg(long)]
    pub now: Option<Timestamp>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A segment's name, or a predicate (`tag "vip" and consent email`).
    pub segment: String,
    #[command(flatten)]
    pub now: NowArgs,
}

#[derive(Debug, Args)]
pub struct MembersArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Print at most this many.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// How many.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub size: usize,
    /// The random seed: the same seed gives the same sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A header row, then a row per profile.
    Csv,
    /// A JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// The consent channel the list is for.
    #[arg(long, default_value = "email")]
    pub channel: String,
    /// The columns: `id` or attribute names, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "id")]
    pub columns: Vec<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: OutputFormat,
    /// Write here instead of to standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// A suppression list: a file of ids or addresses, one per line.
    #[arg(long)]
    pub suppress: Option<PathBuf>,
    /// Write CSV text cells that begin with =, +, -, @, a tab or CR as they are (by default
    /// they get a ' in front, so a spreadsheet shows them instead of running them).
    #[arg(long)]
    pub keep_formulas: bool,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The profile's id.
    pub id: String,
    /// A segment's name, or a predicate.
    pub segment: String,
    #[command(flatten)]
    pub now: NowArgs,
}

#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// The outcome: members convert when they match this predicate at --at.
    #[arg(long, conflicts_with = "sum", required_unless_present = "sum")]
    pub converts: Option<String>,
    /// The outcome: the sum of EVENT.PROPERTY per member between --from and --to.
    #[arg(long, value_name = "EVENT.PROPERTY", requires_all = ["from", "to"])]
    pub sum: Option<String>,
    /// When a conversion is checked (default: now).
    #[arg(long)]
    pub at: Option<Timestamp>,
    /// The first instant summed.
    #[arg(long)]
    pub from: Option<Timestamp>,
    /// The first instant not summed.
    #[arg(long)]
    pub to: Option<Timestamp>,
    /// The smallest difference worth detecting: rate points (0.02) or value units.
    #[arg(long, default_value_t = 0.02)]
    pub minimum_effect: f64,
    #[command(flatten)]
    pub now: NowArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Where the clock starts.
    #[arg(long)]
    pub from: Timestamp,
    /// Advance the clock to here (after the events, if any).
    #[arg(long)]
    pub to: Option<Timestamp>,
    /// A JSONL file of Segment-spec messages to apply as they are read (`-` for standard
    /// input, so `tail -f events.jsonl | segcore watch --events -` follows a stream).
    #[arg(long)]
    pub events: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers in the sample shop (1 to 1,000,000: the demo is a walk-through, kept in a
    /// temporary directory).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub customers: u32,
    /// Keep the demo's directory rather than removing it.
    #[arg(long)]
    pub keep: bool,
}
