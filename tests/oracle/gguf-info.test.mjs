// node-llama-cpp's own GGUF reader (readGgufFileInfo) and `llamaprof info --json` agree on every
// metadata key and every tensor (name, type, shape, offsets) of the files make-model writes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readGgufFileInfo } from "../../tools/oracle/oracle.mjs";
import { ensureModel, runCli } from "../../tools/oracle/test-models.mjs";

// ggml type ids by the name `info` prints.
const ggmlTypeId = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15, BF16: 30 };

// node-llama-cpp nests "a.b.c" keys as objects.
function nested(metadata, key) {
  return key.split(".").reduce((o, part) => (o == null ? undefined : o[part]), metadata);
}

// info --json prints a value either plainly or as {type, value}; long arrays as {type: "array", length}.
function plain(entry) {
  const isTyped = entry && typeof entry === "object" && !Array.isArray(entry) && "value" in entry && typeof entry.type === "string";
  return isTyped ? entry.value : entry;
}

function assertValueEqual(ours, theirs, key) {
  if (ours && typeof ours === "object" && !Array.isArray(ours) && ours.type === "array") {
    assert.ok(Array.isArray(theirs) || ArrayBuffer.isView(theirs), `${key}: node-llama-cpp has no array`);
    assert.equal(theirs.length, ours.length, `${key}: array length`);
  } else if (Array.isArray(ours)) {
    assert.equal(theirs.length, ours.length, `${key}: array length`);
    ours.forEach((v, i) => assertValueEqual(v, theirs[i], `${key}[${i}]`));
  } else if (typeof ours === "number" && !Number.isInteger(ours)) {
    // FLOAT32 values: info prints the shortest form of the float, node-llama-cpp the exact double.
    assert.equal(Math.fround(ours), Math.fround(Number(theirs)), key);
  } else if (typeof theirs === "bigint") {
    assert.equal(BigInt(ours), theirs, key);
  } else {
    assert.deepEqual(ours, theirs, key);
  }
}

describe("llamaprof info --json agrees with node-llama-cpp's GGUF reader", () => {
  for (const [preset, type] of [["tiny", "Q4_K_M"], ["tiny-gqa", "F16"], ["tiny-gqa", "Q3_K_M"], ["demo-mistral", "Q5_1"]]) {
    test(`${preset} ${type}`, async () => {
      const path = ensureModel(preset, type);
      const ours = JSON.parse(runCli(["info", "--json", path]));
      const theirs = await readGgufFileInfo(path, { logWarnings: false });

      assert.equal(ours.version, theirs.version);
      assert.equal(ours.data_offset, theirs.infoEndOffset, "start of the data section");
      const keys = Object.keys(ours.metadata);
      assert.ok(keys.length >= 20, `only ${keys.length} keys`);
      for (const key of keys) {
        const theirValue = nested(theirs.metadata, key);
        assert.notEqual(theirValue, undefined, `${key} missing in node-llama-cpp's view`);
        assertValueEqual(plain(ours.metadata[key]), theirValue, key);
      }
      // No key that node-llama-cpp sees is missing from ours (count the leaves of its nesting).
      const leaves = (o) => Object.values(o).reduce((n, v) => n + (v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) ? leaves(v) : 1), 0);
      assert.equal(leaves(theirs.metadata), keys.length, "same number of keys");

      assert.equal(ours.tensors.length, Number(theirs.tensorCount));
      assert.equal(ours.tensors.length, theirs.tensorInfo.length);
      ours.tensors.forEach((t, i) => {
        const ti = theirs.tensorInfo[i];
        assert.equal(t.name, ti.name);
        assert.equal(ggmlTypeId[t.type], ti.ggmlType, `${t.name} type`);
        assert.deepEqual(t.shape, ti.dimensions.map(Number), `${t.name} shape`);
        assert.equal(t.offset, Number(ti.offset), `${t.name} offset`);
        if ("file_offset" in t) assert.equal(t.file_offset, Number(ti.fileOffset), `${t.name} file offset`);
      });
    });
  }
});
