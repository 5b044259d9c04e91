//! Links the addon against Node-API as napi-rs requires.
fn main() {
    napi_build::setup();
}
