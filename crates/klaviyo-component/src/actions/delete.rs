//! "Delete Object": `DELETE /x/{id}` for every type the revision declares
//! it for. Deleting is idempotent, so the client retries it like any DELETE.

use component_sdk::{Config, MetaModel, SelectModel, Sink};
use reqwest::Method;
use serde_json::json;

use super::action::{Action, Run, emit_json};
use super::body::{Body, ID};
use super::metadata;
use super::request::path_to;
use crate::Error;
use crate::catalog::{self, Purpose};
use crate::fields;
use crate::revision::Revision;

pub(crate) struct DeleteObject;

pub(crate) fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::Delete)
}

pub(crate) fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
    let spec = Revision::from_config(cfg)?.spec();
    let resource = catalog::chosen(cfg, spec, Purpose::Delete)?;
    let name = catalog::singular(&resource);
    Ok(MetaModel {
        input: json!({
            "type": "object",
            "title": "Delete Object input",
            "properties": {"id": {"type": "string", "title": "ID", "required": true, "description": format!("The id of the {name} to delete.")}}
        }),
        output: metadata::object(
            "Deleted object",
            &[
                (
                    "statusCode",
                    "number",
                    "Klaviyo's answer: 204 when it deleted the object; 404 when an earlier attempt whose answer was lost had deleted it. (A 404 to the first attempt with \"Don't throw error on 404 Response\" checked emits an empty message instead.)",
                    true,
                ),
                ("objectType", "string", "The object type, e.g. lists.", true),
                ("id", "string", "The id of the deleted object.", true),
            ],
        ),
    })
}

impl Action for DeleteObject {
    async fn run(&self, run: Run, out: &mut dyn Sink) -> Result<(), Error> {
        let spec = run.spec;
        let resource = catalog::chosen(&run.cfg, spec, Purpose::Delete)?;
        let do_not_throw_404 = run.cfg.checkbox(fields::DO_NOT_THROW_404)?;
        let body = Body::read(&run.msg, "\"id\"")?;
        body.typos(&[ID])?;
        let name = catalog::singular(&resource);
        let id = body.required_text(ID, &format!("the id of the {name} to delete"))?;
        let op = resource
            .delete
            .ok_or_else(|| Error::internal("a Delete Object type without DELETE"))?;
        let path = path_to(op.path, &id, "ID")?;
        tracing::info!("\"Delete Object\" action started: DELETE {path}");
        let response = run
            .client
            .send(Method::DELETE, &run.client.url(&path, &[]), None)
            .await?;
        tracing::info!("DELETE {path} answered {}", response.status);
        match response.status {
            200..=299 => emit_json(
                out,
                &json!({"statusCode": response.status, "objectType": resource.key, "id": id}),
            ),
            // An earlier attempt reached Klaviyo and its answer was lost:
            // this 404 is the deletion that attempt made, what was asked for.
            404 if response.unanswered_before => {
                tracing::info!(
                    "DELETE {path}: the {name} {id} was already gone; an earlier attempt whose answer was lost deleted it"
                );
                emit_json(
                    out,
                    &json!({"statusCode": response.status, "objectType": resource.key, "id": id}),
                )
            }
            404 if do_not_throw_404 => emit_json(out, &json!({})),
            404 => Err(run
                .client
                .api_error(&response)
                .with_hint(format!(
                    "Check the id, or check \"{}\" to emit an empty message when there is nothing to delete",
                    fields::DO_NOT_THROW_404.label
                ))
                .into()),
            _ => Err(run.client.api_error(&response).into()),
        }
    }
}
