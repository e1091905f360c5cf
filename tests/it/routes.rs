//! The routes a router source declares, read from its `.route("…", get(…).post(…))` lines, so
//! that guard and document tests cover every route there is, not a list kept by hand.

/// Each `(method, path)` of `source` whose path starts with `prefix`.
pub fn declared(source: &str, prefix: &str) -> Vec<(&'static str, String)> {
    let mut routes = Vec::new();
    for line in source.lines().map(str::trim).filter(|line| line.starts_with(".route(\"")) {
        let path = line.trim_start_matches(".route(\"").split('"').next().unwrap().to_owned();
        if !path.starts_with(prefix) {
            continue;
        }
        let handlers = line.split_once(',').map_or("", |(_, rest)| rest);
        for method in ["get", "post", "patch", "delete"] {
            if handlers.trim_start().starts_with(&format!("{method}(")) || handlers.contains(&format!(".{method}(")) {
                routes.push((method, path.clone()));
            }
        }
    }
    routes
}

/// The pages' and forms' routes under `prefix`.
pub fn pages_under(prefix: &str) -> Vec<(&'static str, String)> {
    declared(include_str!("../../src/web/mod.rs"), prefix)
}

/// The JSON API's routes, as paths below `/api/v1`.
pub fn api() -> Vec<(&'static str, String)> {
    declared(include_str!("../../src/web/api/mod.rs"), "/")
}
