//! The OpenAPI document: every route described, every reference and link resolved.

use reqwest::StatusCode;

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(the_openapi_document_describes_every_route);

async fn the_openapi_document_describes_every_route(app: TestApp) {
    let answer = Api::new(&app, None).get("/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap().starts_with("application/json"));
    let document = answer.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    // Exactly the routes the API's router declares, each with exactly its methods.
    let mut declared: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for (method, path) in crate::routes::api() {
        declared.entry(path).or_default().push(method);
    }
    assert!(declared.len() >= 17, "the router was read: {declared:?}");
    for (path, methods) in &declared {
        let mut described: Vec<&str> = paths
            .get(path)
            .and_then(|value| value.as_object())
            .unwrap_or_else(|| panic!("{path} is described"))
            .keys()
            .map(String::as_str)
            .filter(|key| *key != "parameters")
            .collect();
        described.sort_unstable();
        let mut methods = methods.clone();
        methods.sort_unstable();
        assert_eq!(described, methods, "{path}");
    }
    assert_eq!(paths.len(), declared.len(), "and nothing else: {:?}", paths.keys().collect::<Vec<_>>());
    // Every reference resolves.
    let text = answer.text.clone();
    for reference in text.split("\"$ref\": \"#/components/").skip(1) {
        let (kind, name) = reference.split('"').next().unwrap().split_once('/').unwrap();
        assert!(document["components"][kind].get(name).is_some(), "{kind}/{name}");
    }
    // Every operation is named; every one that reads a body says what an unreadable or
    // non-JSON body gets, and that a field it does not know is refused.
    for (path, methods) in paths {
        for (method, operation) in methods.as_object().unwrap().iter().filter(|(key, _)| *key != "parameters") {
            assert!(operation["operationId"].is_string(), "{method} {path} has an operationId");
            let Some(body) = operation.get("requestBody") else { continue };
            for status in ["400", "415", "422"] {
                assert!(operation["responses"].get(status).is_some(), "{method} {path} declares {status}");
            }
            let mut schema = &body["content"]["application/json"]["schema"];
            if let Some(reference) = schema["$ref"].as_str() {
                schema = &document["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")];
            }
            assert_eq!(schema["additionalProperties"], false, "{method} {path} refuses unknown fields");
        }
    }
    // Every link names an operation that exists.
    let operations: Vec<&str> = paths
        .values()
        .flat_map(|methods| methods.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    for link in text.split("\"operationId\": \"").skip(1).map(|rest| rest.split('"').next().unwrap()) {
        assert!(operations.contains(&link), "{link}");
    }
}
