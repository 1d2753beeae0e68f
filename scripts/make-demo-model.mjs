#!/usr/bin/env node
// Writes models/demo: a tiny TF.js layers model (8 -> 16 relu -> 3 softmax) with deterministic
// weights in two little-endian float32 shards, so the served layout matches real converted models.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'models', 'demo');
const layers = [
  { name: 'dense', inputs: 8, units: 16, activation: 'relu' },
  { name: 'dense_1', inputs: 16, units: 3, activation: 'softmax' },
];

// A fixed linear congruential generator: the same bytes on every run.
let seed = 20261124;
const next = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return (seed / 2 ** 32) * 2 - 1;
};

const weights = [];
const values = [];
layers.forEach((l, i) => {
  weights.push({ name: `${l.name}/kernel`, shape: [l.inputs, l.units], dtype: 'float32' });
  for (let k = 0; k < l.inputs * l.units; k++) values.push(next() * 0.5);
  weights.push({ name: `${l.name}/bias`, shape: [l.units], dtype: 'float32' });
  for (let k = 0; k < l.units; k++) values.push(next() * 0.1);
});

const bytes = Buffer.alloc(values.length * 4);
values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
const half = Math.ceil(bytes.length / 2 / 4) * 4;
const shards = [bytes.subarray(0, half), bytes.subarray(half)];
const paths = shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`);

const model = {
  format: 'layers-model',
  generatedBy: 'modelhost scripts/make-demo-model.mjs',
  convertedBy: null,
  modelTopology: {
    class_name: 'Sequential',
    config: {
      name: 'demo',
      layers: layers.map((l, i) => ({
        class_name: 'Dense',
        config: {
          name: l.name,
          trainable: true,
          dtype: 'float32',
          ...(i === 0 ? { batch_input_shape: [null, l.inputs] } : {}),
          units: l.units,
          activation: l.activation,
          use_bias: true,
          kernel_initializer: { class_name: 'Zeros', config: {} },
          bias_initializer: { class_name: 'Zeros', config: {} },
          kernel_regularizer: null,
          bias_regularizer: null,
          activity_regularizer: null,
          kernel_constraint: null,
          bias_constraint: null,
        },
      })),
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  },
  weightsManifest: [{ paths, weights }],
};

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'model.json'), JSON.stringify(model, null, 2) + '\n');
shards.forEach((s, i) => writeFileSync(join(out, paths[i]), s));
console.log(`wrote ${out}: model.json + ${shards.length} shards, ${bytes.length} weight bytes`);
