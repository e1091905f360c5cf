//! Files through the API: sent with a new ticket or message (multipart, the JSON in `data`),
//! listed on timeline entries, downloaded with the same rules as the pages.

use helpdesk::domain::accounts::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use super::Api;
use crate::harness::TestApp;
use crate::on_both_databases;

on_both_databases!(files_travel_through_the_api_as_through_the_pages);

async fn files_travel_through_the_api_as_through_the_pages(app: TestApp) {
    let customer = app.user(Role::Customer).email("carla@example.com").create().await;
    let agent = app.user(Role::Agent).email("andy@example.com").create().await;
    let (carla, andy) = (Api::for_user(&app, &customer).await, Api::for_user(&app, &agent).await);
    let general = app.count("SELECT id FROM groups WHERE name = 'General'").await;
    let png = crate::attachments::png();

    let body = json!({ "subject": "Broken", "message": "Pictures attached.", "group": general });
    let made = carla.post_multipart("/tickets", body, &[("one.png", &png), ("notes.txt", b"plain notes")]).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let timeline = carla.get("/tickets/1001/messages").await.data();
    let files = timeline[0]["attachments"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    assert_eq!(
        (files[0]["filename"].clone(), files[0]["content_type"].clone(), files[0]["size"].clone()),
        (json!("one.png"), json!("image/png"), json!(png.len()))
    );
    let url = files[0]["url"].as_str().unwrap().to_owned();
    assert_eq!(carla.download(&url).await, (StatusCode::OK, png.clone()));
    assert_eq!(andy.download(&url).await.0, StatusCode::OK);
    assert_eq!(Api::new(&app, None).download(&url).await.0, StatusCode::UNAUTHORIZED);
    let stranger = Api::for_user(&app, &app.user(Role::Customer).email("olga@example.com").create().await).await;
    assert_eq!(stranger.download(&url).await.0, StatusCode::NOT_FOUND);

    // An internal note's file is the staff's alone.
    let note = andy
        .post_multipart(
            "/tickets/1001/messages",
            json!({ "body": "Our notes.", "visibility": "internal" }),
            &[("internal.txt", b"ours")],
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text);
    let internal = note.data()["attachments"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(andy.download(&internal).await, (StatusCode::OK, b"ours".to_vec()));
    assert_eq!(carla.download(&internal).await.0, StatusCode::NOT_FOUND);
    assert!(!carla.get("/tickets/1001/messages").await.text.contains("internal.txt"));

    // Eleven files, or a part the API does not know: refused, nothing kept.
    let eleven: Vec<(String, Vec<u8>)> = (0..11).map(|n| (format!("f{n}.txt"), vec![b'a' + n as u8; 5])).collect();
    let files: Vec<(&str, &[u8])> = eleven.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice())).collect();
    let too_many = carla.post_multipart("/tickets/1001/messages", json!({ "body": "More." }), &files).await;
    assert_eq!((too_many.status, too_many.field_error("attachments").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    let unreadable = carla.post_multipart("/tickets/1001/messages", json!({ "body": "x", "colour": "red" }), &[]).await;
    assert_eq!((unreadable.status, unreadable.field_error("colour").is_some()), (StatusCode::UNPROCESSABLE_ENTITY, true));
    assert_eq!(app.count("SELECT COUNT(*) FROM attachments").await, 3);
}
