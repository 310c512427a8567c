//! The bundled library: `stdlib/*.drbook` compiled into the binary, so `import "std/NAME"`
//! works after `cargo install` with no files beside the binary.

/// (module name, source text).
pub const MODULES: &[(&str, &str)] = &[
    ("http", include_str!("../../stdlib/http.drbook")),
    ("k8s", include_str!("../../stdlib/k8s.drbook")),
    ("notify", include_str!("../../stdlib/notify.drbook")),
    ("postgres", include_str!("../../stdlib/postgres.drbook")),
    ("ssm", include_str!("../../stdlib/ssm.drbook")),
];

pub fn get(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(n, _)| *n)
}
