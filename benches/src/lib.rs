//! Benchmarks of segcore. The criterion benches live in `benches/`; this library is empty and
//! exists so the crate can hold shared helpers for them and the peer-comparison scripts.
