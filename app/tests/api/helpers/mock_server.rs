//! A mock of an external HTTP API (Toss, FCM) on loopback: its own thread and actix System,
//! the routes a test gives, and a state the handlers (`web::Data<Arc<Mutex<S>>>`) and the
//! test share. Dropping it stops the server.

use actix_web::{App, HttpServer, web};
use std::sync::{Arc, Mutex};

pub struct MockServer<S> {
    pub url: String,
    pub state: Arc<Mutex<S>>,
    handle: actix_web::dev::ServerHandle,
}

impl<S> Drop for MockServer<S> {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Serves `routes` with `workers` workers on a random loopback port.
pub fn mock_server<S: Default + Send + 'static>(workers: usize, routes: fn(&mut web::ServiceConfig)) -> MockServer<S> {
    let state = Arc::new(Mutex::new(S::default()));
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let data = web::Data::new(shared);
            let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
                .workers(workers)
                .disable_signals()
                .bind("127.0.0.1:0")
                .unwrap();
            let port = server.addrs()[0].port();
            let server = server.run();
            tx.send((port, server.handle())).unwrap();
            let _ = server.await;
        });
    });
    let (port, handle) = rx.recv().unwrap();
    MockServer { url: format!("http://127.0.0.1:{port}"), state, handle }
}
