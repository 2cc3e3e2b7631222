"""The baseline a user would otherwise write: a first poll of every profile,
oldest change first, with Klaviyo's official Python SDK (`klaviyo-api` from
PyPI), following the page cursor with the SDK's own helper, and writing each
record as one JSON line.

Run by `cargo xtask bench` (crates/xtask/src/bench) against the local
stand-in:

    python python_baseline.py HOST API_KEY REVISION OUT_FILE [models|dicts]

HOST is the stand-in's origin without `/api` (`http://127.0.0.1:PORT`): the
SDK's operation paths start with `/api/` and are joined to
`Configuration.host`, which `KlaviyoAPI(test_host=...)` sets. The SDK sends
its own revision (`KlaviyoAPI._REVISION`) as a default header of its
`ApiClient`; the harness overrides it with the revision the runner sends.

Paging uses the SDK's `page_cursor` argument, which goes through its cursor
helper (`KlaviyoAPI._page_cursor_update`). That helper also accepts the
whole `links.next` URL, but only an `https://` one, and it cuts the cursor
out of it with the `=` still in front (`page%5Bcursor%5D=abc` gives
`=abc`); Klaviyo apparently tolerates that, the stand-in (which checks a
cursor strictly) answers "Invalid cursor provided.". So the cursor is taken
from `links.next` here with urllib and handed to the helper bare.

`models` (the SDK's default) parses every page into the SDK's pydantic
models; `dicts` passes the SDK's USE_DICTIONARY_FOR_RESPONSE_DATA option
and gets plain dicts (the fastest the SDK offers).

Prints one JSON line on stdout: {"records": N, "requests": N}.
"""

import json
import sys
from urllib.parse import parse_qs, urlsplit

from klaviyo_api import KlaviyoAPI
from openapi_client.api_arg_options import USE_DICTIONARY_FOR_RESPONSE_DATA


def main():
    host, api_key, revision, out_path = sys.argv[1:5]
    mode = sys.argv[5] if len(sys.argv) > 5 else "models"
    options = {USE_DICTIONARY_FOR_RESPONSE_DATA: True} if mode == "dicts" else {}
    klaviyo = KlaviyoAPI(api_key, max_delay=60, max_retries=3, test_host=host, options=options)
    klaviyo.api_client.default_headers["revision"] = revision
    profiles = klaviyo.Profiles

    records = 0
    requests = 0
    cursor = None
    with open(out_path, "w", encoding="utf-8") as out:
        while True:
            page = profiles.get_profiles(
                filter="greater-than(updated,1970-01-01T00:00:00Z)",
                sort="updated",
                page_size=100,
                page_cursor=cursor,
            )
            requests += 1
            if mode == "dicts":
                data = page["data"]
                following = (page.get("links") or {}).get("next")
                for record in data:
                    out.write(json.dumps(record))
                    out.write("\n")
            else:
                data = page.data
                following = page.links.next if page.links else None
                for record in data:
                    out.write(record.model_dump_json(by_alias=True))
                    out.write("\n")
            records += len(data)
            if not following:
                break
            cursor = parse_qs(urlsplit(following).query)["page[cursor]"][0]
    print(json.dumps({"records": records, "requests": requests}))


if __name__ == "__main__":
    main()
