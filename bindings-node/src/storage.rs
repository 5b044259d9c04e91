//! Saving and loading single-file images on the `Audience` class.

use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::args::string;
use crate::audience::Audience;
use crate::errors::{Read, Throw};

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
        run().js(&env)
    }

    /// An audience read from a file `save` wrote: `SEGCORE_IO` if it cannot be read,
    /// `SEGCORE_CORRUPT` if it is not an intact image.
    #[napi(factory, ts_args_type = "path: string")]
    pub fn load(env: Env, path: Unknown<'_>) -> Result<Self> {
        let run = || -> Read<segcore::Audience> {
            let path = string(path, "path")?;
            Ok(segcore::Audience::load(&path)?)
        };
        Ok(Audience {
            inner: Arc::new(RwLock::new(run().js(&env)?)),
            subscribers: Arc::default(),
        })
    }
}
