#!/usr/bin/env python3
"""Write the corpus of bad (and one good) PyTorch checkpoints under tests/bad_inputs/pt/.

    python tests/bad_inputs/make_bad_pt.py     # rewrites pt/*.pt and manifest.json

Needs torch (tests/fixtures/requirements.txt). Deterministic: the same torch gives the same bytes.
Each file is made from one tiny good state dict (`tiny_state_dict`) by one defect, so a parser
that fails on it fails for that defect. The pickles naming forbidden globals are assembled from
pickle opcodes by hand and only ever disassembled (pickletools), never unpickled: a reader must
refuse them before calling anything.
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import random
import struct
import zipfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
PT = HERE / "pt"

ALIGN = 64  # torch.save aligns every stored entry's data to 64 bytes (zip extra field "FB")


def tiny_state_dict() -> dict:
    """Three TL-named tensors: a float matrix, a bool mask, a float scalar (~200 bytes)."""
    return {
        "embed.W_E": (torch.arange(24, dtype=torch.float32) / 8).reshape(6, 4),
        "blocks.0.attn.mask": torch.tril(torch.ones((3, 3))).bool(),
        "blocks.0.attn.IGNORE": torch.tensor(-1e5),
    }


def torch_save_bytes(obj, **kwargs) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def good_pt() -> bytes:
    return torch_save_bytes(tiny_state_dict())


def split_pickles(data: bytes, n: int) -> tuple[list[bytes], bytes]:
    """The first `n` pickles written one after another in `data`, and the bytes after them."""
    out, pos = [], 0
    for _ in range(n):
        stop = next(p for op, _, p in pickletools.genops(data[pos:]) if op.name == "STOP")
        out.append(data[pos:pos + stop + 1])
        pos += stop + 1
    return out, data[pos:]


def rename_strings(p: bytes, names: dict[str, str]) -> bytes:
    """Pickle `p` with every BINUNICODE string found in `names` replaced (lengths re-encoded)."""
    ops = list(pickletools.genops(p))
    out = []
    for (op, arg, pos), nxt in zip(ops, [q for _, _, q in ops[1:]] + [len(p)]):
        if op.name == "BINUNICODE" and arg in names:
            out.append(_unicode(names[arg]))
        else:
            out.append(p[pos:nxt])
    return b"".join(out)


def legacy_save_bytes(sd: dict) -> bytes:
    """torch.save(sd, _use_new_zipfile_serialization=False), made reproducible.

    The legacy format names each storage str(storage._cdata) -- a memory address -- and writes
    the storages in sorted(name) order, so two runs differ. Here the names become "0", "1", ...
    in the order the tensors are pickled and the storages (each an int64 element count, then the
    raw bytes) are put in that order; everything else is torch's own bytes.
    """
    data = torch_save_bytes(sd, _use_new_zipfile_serialization=False)
    (magic, proto, sys_info, main, keys_pickle), storages = split_pickles(data, 5)
    old_keys = pickle.loads(keys_pickle)  # a plain list of str, written by torch just above
    first = list(dict.fromkeys(a for _, a, _ in pickletools.genops(main) if a in old_keys))
    assert len(first) == len(old_keys) == len(sd)
    new = {k: str(i) for i, k in enumerate(first)}
    elsize = {k: t.element_size() for k, t in zip(first, sd.values())}
    blobs, pos = {}, 0
    for k in old_keys:
        size = 8 + struct.unpack_from("<q", storages, pos)[0] * elsize[k]
        blobs[k], pos = storages[pos:pos + size], pos + size
    assert pos == len(storages)
    out = (magic + proto + sys_info + rename_strings(main, new)
           + pickle.dumps([new[k] for k in first], protocol=2) + b"".join(blobs[k] for k in first))
    back = torch.load(io.BytesIO(out), weights_only=True)
    assert list(back) == list(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    return out


def zip_entries(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i, z.read(i)) for i in z.infolist()]


def write_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A stored (uncompressed) zip like torch's: fixed dates, data 64-byte aligned."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            header_end = buf.tell() + 30 + len(name.encode())  # local header is 30 bytes + name
            pad = -(header_end + 4) % ALIGN  # 4 = the extra field's own id + length
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            z.writestr(info, content)
    return buf.getvalue()


def replace_entry(data: bytes, suffix: str, new: bytes | None) -> bytes:
    """The zip `data` with the entry whose name ends in `suffix` replaced (None: dropped)."""
    out, hit = [], False
    for info, content in zip_entries(data):
        if info.filename.endswith(suffix):
            hit = True
            if new is None:
                continue
            content = new
        out.append((info.filename, content))
    assert hit, f"no zip entry ending in {suffix}"
    return write_zip(out)


def pkl_of(data: bytes) -> bytes:
    return next(c for i, c in zip_entries(data) if i.filename.endswith("/data.pkl"))


def _unicode(s: str) -> bytes:
    b = s.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(b)) + b


def pickle_global_call(module: str, name: str, arg: str) -> bytes:
    """Protocol 2: `module.name(arg)` at the top level, the pickle of a __reduce__ returning
    (os.system, ("echo pwned",)). GLOBAL takes "module\\nname\\n"."""
    return (pickle.PROTO + b"\x02" + pickle.GLOBAL + f"{module}\n{name}\n".encode()
            + _unicode(arg) + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)


def pickle_nested_call(key: str, module: str, name: str, arg: str) -> bytes:
    """Protocol 2: `{key: module.name(arg)}`: a state-dict-shaped dict hiding the call in a value."""
    return (pickle.PROTO + b"\x02" + pickle.EMPTY_DICT + _unicode(key)
            + pickle.GLOBAL + f"{module}\n{name}\n".encode() + _unicode(arg)
            + pickle.TUPLE1 + pickle.REDUCE + pickle.SETITEM + pickle.STOP)


def pickle_stack_global_call(module: str, name: str, arg: str) -> bytes:
    """Protocol 4: the same call through STACK_GLOBAL (module and name come off the stack)."""
    def short(s: str) -> bytes:
        return pickle.SHORT_BINUNICODE + bytes([len(s)]) + s.encode()
    return (pickle.PROTO + b"\x04" + short(module) + short(name) + pickle.STACK_GLOBAL
            + short(arg) + pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)


def checked_pickle(p: bytes, global_name: str) -> bytes:
    """Walk the opcodes (never load) to prove the bytes are a complete pickle calling the global.

    pickletools.genops raises on a malformed or unterminated pickle; GLOBAL carries
    "module name", STACK_GLOBAL takes the two strings pushed just before it.
    """
    ops = list(pickletools.genops(p))
    strings, named = [], []
    for op, arg, _ in ops:
        if op.name == "GLOBAL":
            named.append(arg)
        elif op.name == "STACK_GLOBAL":
            named.append(" ".join(strings[-2:]))
        elif isinstance(arg, str):
            strings.append(arg)
    assert named == [global_name], named
    assert any(op.name == "REDUCE" for op, _, _ in ops), "no call"
    return p


def garble(p: bytes) -> bytes:
    """Keep the PROTO header, XOR the rest: a zip that opens but whose pickle is noise."""
    return p[:2] + bytes(b ^ 0x5A for b in p[2:])


def good_storage_0(good: bytes) -> bytes:
    """data/0 of the good zip: the 96 bytes of embed.W_E (the first storage pickled)."""
    data = next(c for i, c in zip_entries(good) if i.filename.endswith("/data/0"))
    assert len(data) == 24 * 4, len(data)
    return data


def build() -> list[dict]:
    """Write every file; return the manifest rows."""
    good = good_pt()
    rng = random.Random(15)
    files: list[tuple[str, bytes, bool, str]] = [
        ("truncated_zip.pt", good[: len(good) // 2], False,
         "a good torch.save zip cut in half: the end-of-central-directory record is gone"),
        ("garbled_data_pkl.pt", replace_entry(good, "/data.pkl", garble(pkl_of(good))), False,
         "valid zip; data.pkl keeps its PROTO 2 header but every later byte is XOR 0x5A"),
        ("missing_data_pkl.pt", replace_entry(good, "/data.pkl", None), False,
         "valid torch-style zip (data/, version, byteorder) without its data.pkl entry"),
        ("short_storage.pt", replace_entry(good, "/data/0", good_storage_0(good)[:40]), False,
         "data/0 holds 40 bytes but data.pkl declares a FloatStorage of 24 elements (96 bytes) "
         "viewed as [6, 4] (embed.W_E)"),
        ("forbidden_os_system.pt",
         replace_entry(good, "/data.pkl",
                       checked_pickle(pickle_global_call("os", "system", "echo pwned"), "os system")),
         False, "data.pkl is GLOBAL os.system + REDUCE('echo pwned') (a __reduce__ payload) inside "
         "a good torch zip; must be refused without calling anything. NEVER torch.load it"),
        ("forbidden_eval_nested.pt",
         replace_entry(good, "/data.pkl",
                       checked_pickle(pickle_nested_call("embed.W_E", "builtins", "eval", "6*7"),
                                      "builtins eval")),
         False, "data.pkl is {'embed.W_E': builtins.eval('6*7')}: the forbidden call hides in a "
         "state-dict value. NEVER torch.load it"),
        ("forbidden_stack_global.pt",
         replace_entry(good, "/data.pkl",
                       checked_pickle(pickle_stack_global_call("posix", "system", "echo pwned"),
                                      "posix system")),
         False, "protocol-4 pickle calling posix.system through STACK_GLOBAL instead of GLOBAL. "
         "NEVER torch.load it"),
        ("random_bytes.pt", bytes(rng.randrange(256) for _ in range(512)), False,
         "512 seeded random bytes: no zip, tar, legacy magic or pickle"),
        ("git_lfs_pointer.pt",
         b"version https://git-lfs.github.com/spec/v1\n"
         b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
         b"size 1234567\n", False,
         "a text file: the Git LFS pointer one gets instead of the weights when cloning without LFS"),
        ("empty.pt", b"", False, "0 bytes"),
        ("legacy_good.pt", legacy_save_bytes(tiny_state_dict()),
         True, "GOOD: the tiny state dict saved with _use_new_zipfile_serialization=False (legacy "
         "non-zip format: magic, protocol, sys_info pickles, the state dict, the storage keys, "
         "then raw storages; keys renamed 0, 1, 2 for reproducibility); it should load"),
        ("dict_of_ints.pt", torch_save_bytes({"step": 3, "n_layers": 2}), False,
         "a valid torch.save zip holding {'step': 3, 'n_layers': 2}: no tensors at all"),
        ("string.pt", torch_save_bytes("not a state dict"), False,
         "a valid torch.save zip holding a str"),
        ("huge_view.pt",
         torch_save_bytes({"embed.W_E": torch.zeros(1).expand(200_000, 100_000)}), False,
         "one float of storage viewed (stride 0) as [200000, 100000]: 80 GB as f32, which a reader "
         "that materialises views would allocate; must be refused from the shapes, before reading"),
    ]
    PT.mkdir(parents=True, exist_ok=True)
    names = {f for f, *_ in files}
    for old in PT.glob("*.pt"):  # drop files the list no longer makes
        if old.name not in names:
            old.unlink()
    rows = []
    for fname, data, is_good, why in files:
        (PT / fname).write_bytes(data)
        rows.append({"file": f"pt/{fname}", "kind": "pt", "good": is_good, "why": why,
                     "expect": None})
    return rows


def main() -> int:
    rows = build()
    path = HERE / "manifest.json"
    old = json.loads(path.read_text()) if path.exists() else []
    # keep entries written by hand (other kinds, filled-in `expect`s) for files still made here
    by_file = {r["file"]: r for r in old}
    for r in rows:
        if r["file"] in by_file and by_file[r["file"]].get("expect") is not None:
            r["expect"] = by_file[r["file"]]["expect"]
    mine = {r["file"] for r in rows}
    others = [r for r in old if r.get("kind") != "pt" and r["file"] not in mine]
    path.write_text(json.dumps(rows + others, indent=2) + "\n")
    for r in rows:
        print(f"{(HERE / r['file']).stat().st_size:>6}  {r['file']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
