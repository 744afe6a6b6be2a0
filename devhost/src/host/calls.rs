//! Dev routes over the API call record (`mattermost_plugin_runtime::api_calls`): every call the
//! plugin made, and scripted answers for any unary method. Messages travel as hex of their
//! protobuf encoding; the Python test kit decodes and encodes them with the generated messages,
//! so a test reads and writes typed values without per-method code here.
//!
//! - `GET /api/v4/dev/api_calls?after=<seq>&method=<GoName>`: the record, oldest first;
//! - `DELETE /api/v4/dev/api_calls`: forget it;
//! - `POST /api/v4/dev/api_responses`: `{"method", "response_hex" | "status": {"code",
//!   "message"}, "times"?}` scripts a method;
//! - `DELETE /api/v4/dev/api_responses?method=<GoName>`: back to the model (all methods without
//!   `method`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mattermost_plugin_runtime::api_calls::{ApiCall, CallOutcome, Message, Reply};
use serde_json::{Value, json};

use super::{Shared, bad_request};

pub(super) fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/api/v4/dev/api_calls", get(list).delete(clear))
        .route(
            "/api/v4/dev/api_responses",
            axum::routing::post(respond).delete(clear_responses),
        )
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let after = match query.get("after").map(|a| a.parse::<u64>()) {
        None => 0,
        Some(Ok(after)) => after,
        Some(Err(e)) => return bad_request(format!("`after` must be a sequence number: {e}")),
    };
    let log = shared.calls.log(after);
    let method = query.get("method");
    let calls: Vec<Value> = log
        .calls
        .iter()
        .filter(|c| method.is_none_or(|m| &c.method == m))
        .map(call_json)
        .collect();
    Json(json!({ "calls": calls, "dropped": log.dropped })).into_response()
}

async fn clear(State(shared): State<Arc<Shared>>) -> Response {
    shared.calls.clear_log();
    StatusCode::NO_CONTENT.into_response()
}

async fn respond(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
    let Some(method) = body.get("method").and_then(Value::as_str) else {
        return bad_request("`method` (the Go method name) is required");
    };
    let reply = match (body.get("response_hex"), body.get("status")) {
        (Some(hex), None) => match hex.as_str().map(hex::decode) {
            Some(Ok(bytes)) => Reply::Response(bytes.into()),
            Some(Err(e)) => return bad_request(format!("`response_hex`: {e}")),
            None => return bad_request("`response_hex` must be a string"),
        },
        (None, Some(status)) => {
            let code = status.get("code").and_then(Value::as_i64);
            let Some(code) = code.and_then(|c| i32::try_from(c).ok()) else {
                return bad_request("`status.code` must be a gRPC status code");
            };
            let code = tonic::Code::from_i32(code);
            if code == tonic::Code::Ok {
                return bad_request("`status.code` 0 is success: script a `response_hex` instead");
            }
            let message = status.get("message").and_then(Value::as_str);
            Reply::Status {
                code,
                message: message.unwrap_or_default().to_string(),
            }
        }
        _ => return bad_request("give exactly one of `response_hex` and `status`"),
    };
    let times = match body.get("times") {
        None | Some(Value::Null) => None,
        Some(t) => match t.as_u64().and_then(|t| u32::try_from(t).ok()) {
            Some(t) => Some(t),
            None => return bad_request("`times` must be a positive whole number"),
        },
    };
    match shared.calls.respond(method, reply, times) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(e.to_string()),
    }
}

async fn clear_responses(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let removed = shared
        .calls
        .clear_responses(query.get("method").map(String::as_str));
    Json(json!({ "removed": removed })).into_response()
}

fn call_json(call: &ApiCall) -> Value {
    let (response, status) = match &call.outcome {
        CallOutcome::Response(m) => (message_json(m), Value::Null),
        CallOutcome::Status { code, message } => {
            (Value::Null, json!({ "code": code, "message": message }))
        }
    };
    json!({
        "seq": call.seq,
        "plugin_id": call.plugin_id,
        "method": call.method,
        "request": message_json(&call.request),
        "response": response,
        "status": status,
        "scripted": call.scripted,
    })
}

fn message_json(message: &Message) -> Value {
    match message {
        Message::Bytes(bytes) => json!({ "hex": hex::encode(bytes) }),
        Message::Omitted { len } => json!({ "omitted": len }),
        Message::Streamed => json!({ "streamed": true }),
    }
}
