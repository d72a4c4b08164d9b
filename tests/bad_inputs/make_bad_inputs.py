#!/usr/bin/env python3
"""Writes the safetensors, config and token rows of the bad-input corpus (stdlib only).

Every file starts from the `min` fixture (tests/fixtures/min: config.json, weights.safetensors)
with one defect, so each row isolates one check. Deterministic: same bytes every run.

    python3 tests/bad_inputs/make_bad_inputs.py

Rewrites safetensors/, config/ and tokens/ and their rows of manifest.json; keeps `expect`
values already pinned and the rows of other kinds (pt/ is make_bad_pt.py's).
"""
import json
import math
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "min"
KINDS = ("safetensors", "config", "tokens")


def read_tensors(path):
    """{name: (dtype, shape, raw bytes)} in file order."""
    b = path.read_bytes()
    (n,) = struct.unpack("<Q", b[:8])
    header, data = json.loads(b[8 : 8 + n]), b[8 + n :]
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0] : v["data_offsets"][1]]) for k, v in header.items() if k != "__metadata__"}


def pack(tensors, edit=None):
    """Safetensors bytes of `tensors`, their data back to back; `edit(header)` may then lie."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if edit:
        edit(header)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the format pads the header to 8 bytes
    return struct.pack("<Q", len(h)) + h + data


def f32(values, shape):
    return ("F32", shape, struct.pack(f"<{len(values)}f", *values))


def safetensors_rows():
    good_bytes = (FIXTURE / "weights.safetensors").read_bytes()
    tensors = read_tensors(FIXTURE / "weights.safetensors")
    W_E = list(struct.unpack(f"<{201 * 32}f", tensors["embed.W_E"][2]))

    def lying(name, **fields):
        return pack(tensors, lambda h: h[name].update(fields))

    def replaced(name, values, shape):
        return pack({**tensors, name: f32(values, shape)})

    nan, inf = W_E[:], W_E[:]
    nan[7], inf[0] = math.nan, math.inf
    n_header = struct.unpack("<Q", good_bytes[:8])[0]
    data_len = len(good_bytes) - 8 - n_header
    return [
        ("truncated.safetensors", good_bytes[: len(good_bytes) // 2], None,
         "the min fixture's weights cut in half: the header's offsets point past the end"),
        ("header_length_lies.safetensors", struct.pack("<Q", 1 << 40) + good_bytes[8:], None,
         "the 8-byte header length says 1 TiB; the file is 70 kB"),
        ("header_not_json.safetensors", good_bytes[:8] + b"\xff" * n_header + good_bytes[8 + n_header :], None,
         "the header's bytes are all 0xff: not UTF-8 JSON"),
        ("offsets_past_end.safetensors", lying("embed.W_E", data_offsets=[0, data_len + 4096]), None,
         "embed.W_E's data_offsets end 4 kB past the data"),
        ("shape_lies.safetensors", lying("embed.W_E", shape=[202, 32]), None,
         "embed.W_E claims [202, 32] but its offsets hold 201 x 32 f32"),
        ("dtype_unknown.safetensors", lying("embed.W_E", dtype="Q7"), None,
         "embed.W_E's dtype is Q7, not a safetensors dtype"),
        ("missing_tensor.safetensors", pack({k: v for k, v in tensors.items() if k != "blocks.0.attn.W_Q"}), "min",
         "the min fixture without blocks.0.attn.W_Q, checked against its config"),
        ("extra_tensor.safetensors", pack({**tensors, "blocks.0.mlp.W_in": f32([0.0] * 8, [2, 4])}), "min",
         "the min fixture (attention only) plus a blocks.0.mlp.W_in its config has no place for"),
        ("wrong_shape_for_config.safetensors", replaced("pos_embed.W_pos", [0.0] * 4 * 32, [4, 32]), "min",
         "pos_embed.W_pos is [4, 32] (n_ctx 4); the config says n_ctx 3"),
        ("nan_weight.safetensors", replaced("embed.W_E", nan, [201, 32]), "min",
         "one NaN in embed.W_E (a diverged run's weights)"),
        ("inf_weight.safetensors", replaced("embed.W_E", inf, [201, 32]), "min",
         "one +inf in embed.W_E"),
        ("empty.safetensors", b"", None, "zero bytes"),
    ]


def config_rows():
    cfg = json.loads((FIXTURE / "config.json").read_text())

    def changed(**fields):
        return json.dumps({**cfg, **fields}, indent=1).encode()

    return [
        ("not_json.json", b'{"d_model": 32, "n_layers": 1,', "JSON cut off mid-object"),
        ("not_an_object.json", b"[32, 1, 3]", "a JSON array, not a config object"),
        ("unknown_act_fn.json", changed(act_fn="swishy"), "act_fn is not one TL knows"),
        ("negative_d_model.json", changed(d_model=-32), "d_model is negative"),
        ("zero_heads.json", changed(n_heads=0), "n_heads is 0"),
        ("string_n_ctx.json", changed(n_ctx="three"), "n_ctx is a string"),
        ("contradictory_heads.json", changed(n_heads=3), "n_heads 3 x d_head 32 against d_model 32 and weights of one head"),
        ("too_large.json", changed(d_model=65536, d_head=64, n_heads=1024, n_layers=96, d_mlp=262144, n_ctx=8192),
         "a model of hundreds of billions of parameters: refused before allocating, with its size"),
        ("missing_d_vocab.json", json.dumps({k: v for k, v in cfg.items() if k != "d_vocab"}).encode(),
         "no d_vocab"),
    ]


def token_rows():
    n_ctx, d_vocab = 3, 201
    return [
        ("out_of_vocab.json", json.dumps([[0, 5, d_vocab]]).encode(), f"token {d_vocab} in a vocabulary of {d_vocab}"),
        ("negative.json", json.dumps([[0, -1, 2]]).encode(), "a negative token id"),
        ("too_long.json", json.dumps([list(range(n_ctx + 1))]).encode(), f"{n_ctx + 1} positions for n_ctx {n_ctx}"),
        ("empty_batch.json", b"[]", "no sequences"),
        ("empty_sequence.json", b"[[]]", "one sequence of no tokens"),
        ("non_integer.json", b"[[1, 2.5, 3]]", "a fractional token id"),
        ("strings.json", b'[["1", "2", "3"]]', "token ids as strings"),
        ("ragged.json", b"[[1, 2, 3], [4, 5]]", "sequences of different lengths"),
        ("not_json.json", b"[[1, 2, 3]", "JSON cut off"),
    ]


def main():
    manifest_path = HERE / "manifest.json"
    old = json.loads(manifest_path.read_text())
    expects = {r["file"]: r.get("expect") for r in old}
    rows = [r for r in old if r["kind"] not in KINDS]
    made = {
        "safetensors": [(f, b, against, why) for f, b, against, why in safetensors_rows()],
        "config": [(f, b, "min", why) for f, b, why in config_rows()],
        "tokens": [(f, b, "min", why) for f, b, why in token_rows()],
    }
    for kind, files in made.items():
        d = HERE / kind
        d.mkdir(exist_ok=True)
        for old_file in d.iterdir():
            old_file.unlink()
        for name, content, against, why in files:
            (d / name).write_bytes(content)
            row = {"file": f"{kind}/{name}", "kind": kind, "good": False, "why": why, "expect": expects.get(f"{kind}/{name}")}
            if against:
                row["against"] = against
            rows.append(row)
    manifest_path.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"{sum(len(v) for v in made.values())} files; {len(rows)} rows in manifest.json")


if __name__ == "__main__":
    main()
