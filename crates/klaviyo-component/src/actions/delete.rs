//! "Delete Object": `DELETE /x/{id}` for every type the revision declares
//! it for. Deleting is idempotent, so the client retries it like any DELETE.

use component_sdk::config::{closest, shortened};
use component_sdk::{Config, MetaModel, SelectModel, Sink, Step, StepInput};
use reqwest::Method;
use serde_json::json;

use super::{body, emit_json, metadata, path_to, values};
use crate::Error;
use crate::catalog::{self, Purpose};
use crate::context::Context;
use crate::fields;
use crate::outcome::finish;
use crate::revision::Revision;

pub struct DeleteObject;

impl Step for DeleteObject {
    async fn process(
        &self,
        input: StepInput,
        out: &mut dyn Sink,
    ) -> Result<(), component_sdk::Error> {
        let result = run(input, out).await;
        finish(result, out)
    }
}

pub fn object_types_model(cfg: &Config) -> Result<SelectModel, component_sdk::Error> {
    catalog::model(cfg, Purpose::Delete)
}

pub fn meta_model(cfg: &Config) -> Result<MetaModel, component_sdk::Error> {
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
                    "Klaviyo's answer: 204 when it deleted the object. (A 404 with \"Don't throw error on 404 Response\" checked emits an empty message instead.)",
                    true,
                ),
                ("objectType", "string", "The object type, e.g. lists.", true),
                ("id", "string", "The id of the deleted object.", true),
            ],
        ),
    })
}

async fn run(input: StepInput, out: &mut dyn Sink) -> Result<(), Error> {
    let Context { client, .. } = Context::new(&input.cfg, &input.env)?;
    let spec = client.revision().spec();
    let resource = catalog::chosen(&input.cfg, spec, Purpose::Delete)?;
    let do_not_throw_404 = input.cfg.checkbox(fields::DO_NOT_THROW_404)?;
    let members = body(&input, "\"id\"")?;
    for given in members.keys() {
        if given != "id"
            && let Some(meant) = closest(given, ["id"])
        {
            return Err(Error::input(format!(
                "unknown member `{}` of the message body — did you mean `{meant}` (ID)?",
                shortened(given, 40)
            )));
        }
    }
    let name = catalog::singular(&resource);
    let id = values::text(members.get("id"))
        .map_err(|kind| Error::input(format!("\"ID\" (msg.body.id) must be text, got {kind}")))?
        .ok_or_else(|| {
            Error::input(format!(
                "\"ID\" is required: give msg.body.id, the id of the {name} to delete"
            ))
        })?;
    let op = resource
        .delete
        .ok_or_else(|| Error::internal("a Delete Object type without DELETE"))?;
    let path = path_to(op.path, &id, "ID")?;
    tracing::info!("\"Delete Object\" action started: DELETE {path}");
    let response = client
        .send(Method::DELETE, &client.url(&path, &[]), None)
        .await?;
    tracing::info!("DELETE {path} answered {}", response.status);
    match response.status {
        200..=299 => emit_json(
            out,
            &json!({"statusCode": response.status, "objectType": resource.key, "id": id}),
        ),
        404 if do_not_throw_404 => emit_json(out, &json!({})),
        404 => Err(client
            .api_error(&response)
            .with_hint(format!(
                "Check the id, or check \"{}\" to emit an empty message when there is nothing to delete",
                fields::DO_NOT_THROW_404.label
            ))
            .into()),
        _ => Err(client.api_error(&response).into()),
    }
}
