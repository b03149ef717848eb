//! cnitool's verbs: `add`, `check`, `del` and `status` of one network and namespace.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use twill_runtime::Attachment;

use crate::args::{AttachArgs, StatusArgs};
use crate::container_id;
use crate::context::Ctx;
use crate::networks;
use crate::output;

/// `twill add`: ADD, then the result printed as cnitool prints it (four-space indent).
pub fn add(ctx: &Ctx, a: &AttachArgs) -> Result<()> {
    let net = networks::find(ctx, &a.net)?;
    let att = attachment(ctx, a)?;
    let result = ctx.runtime().add(&net, &att)?;
    output::print(&format!("{}\n", output::pretty(&result.value, b"    ")))?;
    Ok(())
}

/// `twill check`.
pub fn check(ctx: &Ctx, a: &AttachArgs) -> Result<()> {
    let net = networks::find(ctx, &a.net)?;
    ctx.runtime().check(&net, &attachment(ctx, a)?)?;
    Ok(())
}

/// `twill del`.
pub fn del(ctx: &Ctx, a: &AttachArgs) -> Result<()> {
    let net = networks::find(ctx, &a.net)?;
    ctx.runtime().del(&net, &attachment(ctx, a)?)?;
    Ok(())
}

/// `twill status`.
pub fn status(ctx: &Ctx, a: &StatusArgs) -> Result<()> {
    let net = networks::find(ctx, &a.net)?;
    ctx.runtime().status(&net)?;
    Ok(())
}

/// The attachment the arguments describe, with cnitool's container ID when none is given.
pub fn attachment(ctx: &Ctx, a: &AttachArgs) -> Result<Attachment> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let netns = container_id::netns_path(&a.netns, &ctx.netns_dir, &cwd);
    let id = match &a.container_id {
        Some(id) => id.clone(),
        None => container_id::cnitool_id(&netns),
    };
    let mut att = Attachment::new(id, netns.to_string_lossy(), &a.ifname);
    if let Some(args) = a.cni_args.as_deref() {
        att = att.with_args(parse_cni_args(args)?);
    }
    if let Some(caps) = a.cap_args.as_deref() {
        att = att.with_capability_args(parse_cap_args(caps)?);
    }
    Ok(att)
}

/// `K=V;K2=V2` into pairs; empty segments are ignored, as a trailing `;` is common.
pub fn parse_cni_args(s: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in s.split(';').filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            bail!("CNI_ARGS: invalid pair {part:?}: expected KEY=VALUE pairs separated by `;`");
        };
        pairs.push((k.to_owned(), v.to_owned()));
    }
    Ok(pairs)
}

/// CAP_ARGS: a JSON object of capability arguments.
pub fn parse_cap_args(s: &str) -> Result<Map<String, Value>> {
    if s.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => bail!("CAP_ARGS: expected a JSON object such as {{\"portMappings\":[…]}}"),
        Err(e) => bail!("CAP_ARGS: not valid JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cni_args_pairs() {
        let p = parse_cni_args("IgnoreUnknown=1;IP=10.1.0.5;").unwrap();
        assert_eq!(
            p,
            [
                ("IgnoreUnknown".to_owned(), "1".to_owned()),
                ("IP".to_owned(), "10.1.0.5".to_owned())
            ]
        );
        assert!(parse_cni_args("A=1;oops").is_err());
        assert!(parse_cni_args("").unwrap().is_empty());
    }

    #[test]
    fn cap_args_must_be_an_object() {
        assert_eq!(
            parse_cap_args(r#"{"mac":"0a:58:00:00:00:01"}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(parse_cap_args("[]").is_err());
        assert!(parse_cap_args("{").is_err());
        assert!(parse_cap_args(" ").unwrap().is_empty());
    }
}
