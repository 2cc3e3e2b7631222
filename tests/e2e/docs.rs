//! The examples of docs/protocol.md, run as written: every `echo '…' |
//! [VAR=value …] target/debug/klaviyo-runner ARGS` command of its `sh`
//! blocks, against a stand-in started with the flags the block gives, and
//! compared with the output the page shows after it, where it shows one.

use std::collections::BTreeMap;
use std::time::Duration;

use klaviyo_fake::{FakeConfig, FakeKlaviyo};

use crate::support::{Bin, run};

const PAGE: &str = include_str!("../../docs/protocol.md");

/// One runnable example.
#[derive(Debug)]
struct Example {
    stdin: String,
    env: BTreeMap<String, String>,
    args: Vec<String>,
    /// The lines the page shows right after the command.
    shown: Vec<String>,
    /// `--api-key` of a `klaviyo-fake serve` earlier in the same block.
    stand_in_key: Option<String>,
}

/// The `sh` blocks of `page`, each as its lines.
fn sh_blocks(page: &str) -> Vec<Vec<&str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in page.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), _) => block.push(line),
            (None, _) => {}
        }
    }
    blocks
}

fn examples(page: &str) -> Vec<Example> {
    let mut found = Vec::new();
    for block in sh_blocks(page) {
        let stand_in_key = block
            .iter()
            .find(|l| l.contains("klaviyo-fake serve"))
            .and_then(|l| l.split("--api-key ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        let mut lines = block.iter().peekable();
        while let Some(line) = lines.next() {
            let Some(rest) = line.strip_prefix("echo '") else {
                continue;
            };
            let (stdin, _) = rest.split_once("' \\").expect("echo '…' \\ then a pipe");
            let pipe = lines.next().expect("the piped command");
            let words: Vec<&str> = pipe
                .trim()
                .strip_prefix("| ")
                .expect("a pipe")
                .split_whitespace()
                .collect();
            let at = words
                .iter()
                .position(|w| w.ends_with("klaviyo-runner"))
                .expect("the runner");
            assert_eq!(
                words[at], "target/debug/klaviyo-runner",
                "the page runs the runner where cargo builds it"
            );
            let env = words[..at]
                .iter()
                .map(|w| {
                    let (k, v) = w.split_once('=').expect("VAR=value");
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let mut shown: Vec<String> = Vec::new();
            while let Some(next) = lines.peek() {
                if next.starts_with('{') {
                    shown.push(next.to_string());
                    lines.next();
                } else {
                    break;
                }
            }
            found.push(Example {
                stdin: stdin.to_owned(),
                env,
                args: words[at + 1..].iter().map(|w| (*w).to_owned()).collect(),
                shown,
                stand_in_key: stand_in_key.clone(),
            });
        }
    }
    found
}

#[test]
fn the_examples_of_the_protocol_page_work_as_written() {
    let examples = examples(PAGE);
    assert!(examples.len() >= 2, "{examples:#?}");
    for example in examples {
        // The page's stand-in listens on 8080; the test's on a free port.
        let fake = example.stand_in_key.as_ref().map(|key| {
            FakeKlaviyo::start(FakeConfig {
                api_key: key.clone(),
                ..FakeConfig::default()
            })
            .expect("the stand-in starts")
        });
        let mut env = example.env.clone();
        if let (Some(url), Some(fake)) = (env.get_mut("KLAVIYO_BASE_URL"), &fake) {
            assert_eq!(url, "http://127.0.0.1:8080/api", "{example:?}");
            *url = fake.base_url().to_owned();
        }
        let args: Vec<&str> = example.args.iter().map(String::as_str).collect();
        let out = run(
            Bin::Klaviyo,
            &args,
            example.stdin.as_bytes(),
            &env,
            Duration::from_secs(60),
        );
        assert_eq!(out.code, Some(0), "{example:?}\n{}", out.stdout);
        if example.shown.is_empty() {
            out.assert_event_stream();
            assert!(
                out.lines().iter().any(|l| l["event"] == "data"),
                "{example:?}: records\n{}",
                out.stdout
            );
        } else {
            let got: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(got, example.shown, "{example:?}");
        }
    }
}
