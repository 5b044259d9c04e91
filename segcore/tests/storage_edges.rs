//! Storage edges that need other processes or special files: a write refused by the
//! operating system (a file-size limit) is not applied, and what must be a regular file in a
//! durable directory is refused when it is a FIFO or a link. These tests start processes, so
//! they run one at a time: a child forked while a lock file is open holds that lock until
//! it execs, which a parallel open in this process would see as `locked`.

use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;

use jiff::Timestamp;
use segcore::{Audience, Event, Sync};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segcore-edges-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn now() -> Timestamp {
    "2024-06-01T00:00:00Z".parse().unwrap()
}

/// What must be a regular file in a durable directory is refused when it is not, instead of
/// blocking (a FIFO as `journal` blocked `open` for ever) or being written through; an empty
/// path is refused rather than taken as the current directory.
#[cfg(unix)]
#[test]
fn special_files_and_an_empty_path_are_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let e = Audience::open("").unwrap_err();
    assert_eq!(e.kind(), "invalid_value", "{e}");
    assert!(e.to_string().contains("empty path"), "{e}");

    let dir = scratch("special");
    drop(Audience::open(&dir).unwrap());
    for name in ["journal", "snapshot", "LOCK"] {
        let path = dir.join(name);
        let kept = dir.join(format!("{name}.kept"));
        fs::rename(&path, &kept).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let e = Audience::open(&dir).unwrap_err();
        assert_eq!(e.kind(), "corrupt", "{name}: {e}");
        assert!(e.to_string().contains("FIFO"), "{name}: {e}");
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&kept, &path).unwrap();
        let e = Audience::open(&dir).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{name}: {e}");
        fs::remove_file(&path).unwrap();
        fs::rename(&kept, &path).unwrap();
    }
    let file = dir.join("journal");
    let e = Audience::open(&file).unwrap_err();
    assert!(e.to_string().contains("not a directory"), "{e}");
    drop(Audience::open(&dir).unwrap());
    fs::remove_dir_all(&dir).unwrap();
}

/// A write whose journal append fails is refused and not applied: under a file-size limit
/// (`ulimit -f`), the write that hits it raises `io`, memory does not show it, every later
/// write is refused too, and reopening finds exactly the writes that were acknowledged.
/// The limited writer runs in a child process (the limit and the ignored SIGXFSZ are set by
/// the shell that starts it).
#[cfg(unix)]
#[test]
fn a_write_the_journal_refuses_is_not_applied() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // `eager`: each write through `deferred` and its Commit, as the bindings make them.
    for sync in ["always", "group", "eager"] {
        let dir = scratch(&format!("fsize-{sync}"));
        drop(Audience::open(&dir).unwrap());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 16; exec \"$0\" --exact limited_writer --ignored --nocapture")
            .arg(std::env::current_exe().unwrap())
            .env("SEGCORE_LIMITED_DIR", &dir)
            .env("SEGCORE_LIMITED_SYNC", sync)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{sync}: the limited writer failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let acknowledged: usize = stdout
            .lines()
            .find_map(|l| l.strip_prefix("acknowledged "))
            .expect("the writer reports what was acknowledged")
            .trim()
            .parse()
            .unwrap();
        assert!(
            acknowledged > 10,
            "{sync}: it made progress: {acknowledged}"
        );
        let a = Audience::open(&dir).unwrap();
        assert_eq!(
            a.profile("ada").unwrap().events.len(),
            acknowledged,
            "{sync}: every acknowledged write, and nothing else"
        );
        drop(a);
        fs::remove_dir_all(&dir).unwrap();
    }
}

/// The child of `a_write_the_journal_refuses_is_not_applied`.
#[test]
#[ignore = "run by a_write_the_journal_refuses_is_not_applied under a file-size limit"]
fn limited_writer() {
    let dir = PathBuf::from(std::env::var("SEGCORE_LIMITED_DIR").unwrap());
    let sync = match std::env::var("SEGCORE_LIMITED_SYNC").unwrap().as_str() {
        "always" => Sync::Always,
        _ => Sync::Group,
    };
    let mut a = Audience::open_with(&dir, sync).unwrap();
    let mut acknowledged = 0;
    let eager = std::env::var("SEGCORE_LIMITED_SYNC").unwrap() == "eager";
    let failure = loop {
        let event = Event::new("view", now()).value("n", acknowledged as f64);
        let written = if eager {
            a.deferred(|a| a.track("ada", event))
                .and_then(|((), commit)| commit.wait())
        } else {
            a.track("ada", event)
        };
        match written {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 100_000, "the file-size limit never hit");
    };
    assert_eq!(failure.kind(), "io", "{failure}");
    // Memory shows the acknowledged writes only.
    assert_eq!(a.profile("ada").unwrap().events.len(), acknowledged);
    // Every later write is refused, and changes nothing.
    let e = a.upsert("bo", [("age", 1.into())]).unwrap_err();
    assert_eq!(e.kind(), "io", "{e}");
    assert!(e.to_string().contains("opened again"), "{e}");
    assert!(a.profile("bo").is_none());
    println!("acknowledged {acknowledged}");
}
