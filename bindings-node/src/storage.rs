//! Single-file images (`save` / `load`) and durable directories (`open`, `flush`, `compact`,
//! `close`, with async twins for the slow ones) on the `Audience` class.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::args::{field, given, object, string};
use crate::audience::Audience;
use crate::errors::{argument, guard, guard_task, Read, Throw};

/// What opening a durable directory found.
#[napi(object)]
pub struct OpenReport {
    /// How many compactions the directory has seen.
    pub generation: u32,
    /// Profiles in the snapshot.
    pub snapshot_profiles: u32,
    /// Journal records replayed over the snapshot.
    pub records_replayed: f64,
    /// Bytes cut from the journal's end: a write torn by a crash.
    pub bytes_cut: f64,
    /// Whether a journal already folded into the snapshot was replaced.
    pub stale_journal_replaced: bool,
    /// After a point-in-time recovery: what was wrong; absent otherwise.
    pub damage: Option<String>,
    /// After a point-in-time recovery: the file keeping the journal's cut bytes; absent
    /// otherwise.
    pub set_aside: Option<String>,
}

/// The arguments of `open`: the directory, the sync policy and the recovery.
fn open_arguments(
    path: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> Read<(PathBuf, segcore::OpenOptions)> {
    let path = PathBuf::from(string(path, "path")?);
    let mut sync = segcore::Sync::Group;
    let mut recover = segcore::Recover::Refuse;
    if let Some(options) = given(options) {
        let options = object(options, "options")?;
        if let Some(value) = field(&options, "sync")? {
            sync = match string(value, "options.sync")?.as_str() {
                "group" => segcore::Sync::Group,
                "always" => segcore::Sync::Always,
                "never" => segcore::Sync::Never,
                other => {
                    return Err(argument(format!(
                        "options.sync must be \"group\", \"always\" or \"never\", not {other:?}"
                    )))
                }
            };
        }
        if let Some(value) = field(&options, "recover")? {
            recover = match string(value, "options.recover")?.as_str() {
                "refuse" => segcore::Recover::Refuse,
                "point_in_time" => segcore::Recover::PointInTime,
                other => {
                    return Err(argument(format!(
                        "options.recover must be \"refuse\" or \"point_in_time\", not {other:?}"
                    )))
                }
            };
        }
    }
    Ok((
        path,
        segcore::OpenOptions::new().sync(sync).recover(recover),
    ))
}

fn wrap(inner: segcore::Audience) -> Audience {
    Audience {
        inner: Arc::new(RwLock::new(inner)),
        subscribers: Arc::default(),
    }
}

/// `Audience.openAsync`'s work: opening (replaying the journal) on a worker thread.
pub struct Open {
    arguments: Option<Read<(PathBuf, segcore::OpenOptions)>>,
}

impl Task for Open {
    type Output = Read<segcore::Audience>;
    type JsValue = Audience;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(match self.arguments.take() {
                Some(Ok((path, options))) => options.open(&path).map_err(Into::into),
                Some(Err(failure)) => Err(failure),
                None => Err(argument("the open already ran".to_owned())),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Audience> {
        output.map(wrap).js(&env)
    }
}

/// `compactAsync`'s work: the snapshot written on a worker thread, reads going on meanwhile.
pub struct Compact {
    audience: Arc<RwLock<segcore::Audience>>,
}

impl Task for Compact {
    type Output = Read<()>;
    type JsValue = ();

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            Ok(self
                .audience
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .compact()
                .map_err(Into::into))
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<()> {
        output.js(&env)
    }
}

#[napi]
impl Audience {
    /// Writes the audience's image to `path`, atomically: a crash leaves the old file or the
    /// new one, never a torn one. Failures throw `SEGCORE_IO`.
    #[napi(ts_args_type = "path: string")]
    pub fn save(&self, env: Env, path: Unknown<'_>) -> Result<()> {
        let run = || -> Read<()> {
            let path = string(path, "path")?;
            Ok(self.read().save(&path)?)
        };
        guard(run).js(&env)
    }

    /// An audience read from a file `save` wrote: `SEGCORE_IO` if it cannot be read,
    /// `SEGCORE_CORRUPT` if it is not an intact image.
    #[napi(factory, ts_args_type = "path: string")]
    pub fn load(env: Env, path: Unknown<'_>) -> Result<Self> {
        let run = || -> Read<segcore::Audience> {
            let path = string(path, "path")?;
            Ok(segcore::Audience::load(&path)?)
        };
        Ok(wrap(guard(run).js(&env)?))
    }

    /// Opens (or creates) the durable audience kept in directory `path`: every write that
    /// returns is on disk and survives a crash. `options.sync` is `"group"` (default),
    /// `"always"` or `"never"` (for bulk loads that end with `flush()`). The directory stays
    /// locked until `close()`: a second open throws `SEGCORE_LOCKED` with the holder's `pid`.
    /// A journal damaged before its end throws `SEGCORE_CORRUPT` naming the offset, and
    /// changes nothing; `options.recover: "point_in_time"` opens it as it was before the
    /// damage and keeps the cut bytes in the file `openReport.setAside` names.
    #[napi(
        factory,
        ts_args_type = "path: string, options?: { sync?: 'group' | 'always' | 'never', recover?: 'refuse' | 'point_in_time' }"
    )]
    pub fn open(env: Env, path: Unknown<'_>, options: Option<Unknown<'_>>) -> Result<Self> {
        let run = || -> Read<segcore::Audience> {
            let (path, options) = open_arguments(path, options)?;
            Ok(options.open(&path)?)
        };
        Ok(wrap(guard(run).js(&env)?))
    }

    /// `open` on a worker thread (replaying a long journal does not block the event loop).
    #[napi(
        ts_args_type = "path: string, options?: { sync?: 'group' | 'always' | 'never', recover?: 'refuse' | 'point_in_time' }",
        ts_return_type = "Promise<Audience>"
    )]
    pub fn open_async(path: Unknown<'_>, options: Option<Unknown<'_>>) -> AsyncTask<Open> {
        AsyncTask::new(Open {
            arguments: Some(open_arguments(path, options)),
        })
    }

    /// What opening found; `null` for an in-memory audience.
    #[napi(getter)]
    pub fn open_report(&self) -> Option<OpenReport> {
        self.read().open_report().map(|r| OpenReport {
            generation: r.generation,
            snapshot_profiles: r.snapshot_profiles as u32,
            records_replayed: r.records_replayed as f64,
            bytes_cut: r.bytes_cut as f64,
            stale_journal_replaced: r.stale_journal_replaced,
            damage: r.damage.clone(),
            set_aside: r
                .set_aside
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        })
    }

    /// The directory of a durable audience; `null` in memory.
    #[napi(getter)]
    pub fn directory(&self) -> Option<String> {
        self.read()
            .directory()
            .map(|d| d.to_string_lossy().into_owned())
    }

    /// How many compactions the directory has seen; `null` in memory.
    #[napi(getter)]
    pub fn generation(&self) -> Option<u32> {
        self.read().generation()
    }

    /// Writes and syncs every journaled write (what a `sync: "never"` load ends with).
    #[napi]
    pub fn flush(&self, env: Env) -> Result<()> {
        self.read().flush().js(&env)
    }

    /// Folds the journal into a new snapshot, atomically. After it, no byte of an erased
    /// profile remains in the directory.
    #[napi]
    pub fn compact(&self, env: Env) -> Result<()> {
        self.read().compact().js(&env)
    }

    /// `compact` on a worker thread; queries go on meanwhile, writes wait.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn compact_async(&self) -> AsyncTask<Compact> {
        AsyncTask::new(Compact {
            audience: Arc::clone(&self.inner),
        })
    }

    /// Flushes and releases the directory. The audience stays readable; later writes throw
    /// `SEGCORE_IO`. Nothing to do in memory.
    #[napi]
    pub fn close(&self, env: Env) -> Result<()> {
        self.write().close().js(&env)
    }
}
