//! Server rendering under concurrency. Not database-dependent, so SQLite
//! only.

use super::*;

/// Building a router generates Leptos's route list, which switches resource
/// loading off for the whole process while it runs (leptos#4773): a page
/// rendering meanwhile could wait forever on its resource. The tests build
/// a router per test while others render, and one hung in CI that way.
#[tokio::test]
async fn pages_render_while_another_router_is_built() {
    let app = TestApp::sqlite().await;
    let config = test_config(app._dir.path(), &app.database_url, "http://127.0.0.1:3000");
    let backend = app.backend.clone();
    let building = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            drop(router(app_state(&config, backend.clone())));
        }
    });
    let mut rendered = 0;
    while !building.is_finished() || rendered < 50 {
        // `/login` waits for a resource (the platform a person came from).
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            app.send(Request::get("/login").body(Body::empty()).unwrap()),
        )
        .await
        .expect("a page rendered while a router was built has not finished in 20 s");
        let html = Reply::from(res).await.body;
        assert!(html.contains("Sign in to Atrium"), "{html}");
        rendered += 1;
    }
    building.await.unwrap();
    app.finish().await;
}
