//! The routes a router source declares, read from its `.route("…", get(…).post(…))` calls
//! (on one line or several), so that guard and document tests cover every route there is,
//! not a list kept by hand.

/// Each `(method, path)` of `source` whose path starts with `prefix`.
pub fn declared(source: &str, prefix: &str) -> Vec<(&'static str, String)> {
    let mut routes = Vec::new();
    for rest in source.split(".route(").skip(1) {
        // The call's arguments: up to the parenthesis that closes it.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map_or(rest.len(), |(at, _)| at);
        let call: String = rest[..end].split_whitespace().collect();
        let Some(path) = call.strip_prefix('"').and_then(|rest| rest.split('"').next()) else { continue };
        if !path.starts_with(prefix) {
            continue;
        }
        let handlers = call.split_once(',').map_or("", |(_, rest)| rest);
        for method in ["get", "post", "patch", "delete"] {
            if handlers.starts_with(&format!("{method}(")) || handlers.contains(&format!(".{method}(")) {
                routes.push((method, path.to_owned()));
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
