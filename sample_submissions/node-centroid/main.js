// Nearest-centroid classifier in plain Node.js: a second-language Airlock submission,
// written from docs/protocol.md alone (no SDK, no npm packages).
//
// Features are standardized with the training means and standard deviations (a missing
// value becomes the training mean); a class's score is exp(-distance to its centroid),
// normalized over the classes. Multilabel tasks compare, per label, the centroid of the
// samples with the label to the centroid of those without it.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

function send(message) {
  // stdout carries protocol messages only; writes to a pipe are synchronous on Linux.
  process.stdout.write(JSON.stringify(message) + '\n');
}

function log(text) {
  process.stderr.write(`node-centroid: ${text}\n`);
}

// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

function readTable(file) {
  const [header, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'));
  return { columns: header.slice(1), ids: rows.map((r) => r[0]), rows: rows.map((r) => r.slice(1)) };
}

const MISSING = new Set(['', 'NA', 'NaN', 'nan']);
const toNumber = (cell) => (cell === null || MISSING.has(cell) ? NaN : Number(cell));

class Standardizer {
  constructor(matrix) {
    const width = matrix[0].length;
    this.mean = new Array(width).fill(0);
    this.sd = new Array(width).fill(0);
    for (let j = 0; j < width; j += 1) {
      const values = matrix.map((r) => r[j]).filter((v) => Number.isFinite(v));
      const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
      const variance = values.length
        ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length : 0;
      this.mean[j] = mean;
      this.sd[j] = Math.sqrt(variance) || 1;
    }
  }

  apply(row) {
    return row.map((v, j) => (Number.isFinite(v) ? (v - this.mean[j]) / this.sd[j] : 0));
  }
}

function centroid(rows) {
  const sum = new Array(rows[0].length).fill(0);
  rows.forEach((r) => r.forEach((v, j) => { sum[j] += v; }));
  return sum.map((s) => s / rows.length);
}

function distance(a, b) {
  let total = 0;
  for (let j = 0; j < a.length; j += 1) total += (a[j] - b[j]) ** 2;
  return Math.sqrt(total / a.length);
}

// exp(-d) normalized over the candidates; classes never seen in training get 0.
function softmin(distances) {
  const finite = distances.filter((d) => d !== null);
  const best = Math.min(...finite);
  const weights = distances.map((d) => (d === null ? 0 : Math.exp(-(d - best))));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

class Model {
  fit(task, trainDir) {
    const X = readTable(path.join(trainDir, 'X.csv'));
    const y = readTable(path.join(trainDir, 'y.csv'));
    const index = new Map(X.columns.map((name, j) => [name, j]));
    this.order = task.feature_names.map((name) => index.get(name));
    const raw = X.rows.map((r) => this.order.map((j) => toNumber(r[j])));
    this.scaler = new Standardizer(raw);
    const rows = raw.map((r) => this.scaler.apply(r));
    if (task.task_type === 'multilabel') {
      // One pair of centroids per label: with it (1) and without it (0).
      this.labels = task.labels.map((label) => {
        const column = y.columns.indexOf(label);
        const groups = { 0: [], 1: [] };
        y.rows.forEach((r, i) => groups[Number(r[column]) === 1 ? 1 : 0].push(rows[i]));
        return {
          share: groups[1].length / rows.length,
          with: groups[1].length ? centroid(groups[1]) : null,
          without: groups[0].length ? centroid(groups[0]) : null,
        };
      });
    } else {
      this.centroids = task.classes.map((name) => {
        const members = rows.filter((_, i) => y.rows[i][0] === name);
        return members.length ? centroid(members) : null;
      });
    }
    log(`fitted ${rows.length} samples x ${this.order.length} features`);
  }

  predict(task, X) {
    const rows = X.map((r) => this.scaler.apply(r.map(toNumber)));
    if (task.task_type === 'multilabel') {
      return rows.map((r) => this.labels.map((label) => {
        if (!label.with || !label.without) return label.share; // constant in training
        return softmin([distance(r, label.without), distance(r, label.with)])[1];
      }));
    }
    const proba = rows.map((r) => softmin(this.centroids.map((c) => (c ? distance(r, c) : null))));
    if (task.task_type === 'binary') {
      const positive = task.classes.indexOf(task.positive_class);
      return proba.map((p) => p[positive]);
    }
    return proba;
  }
}

function main() {
  const model = new Model();
  let task = null;
  let trainDir = null;
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line);
    try {
      if (message.type === 'hello') {
        task = message.task;
        trainDir = message.train_dir || process.env.AIRLOCK_TRAIN_DIR;
        send({ type: 'ready', protocol: 1, name: 'node-centroid' });
      } else if (message.type === 'fit') {
        model.fit(task, trainDir);
        send({ type: 'fitted' });
      } else if (message.type === 'predict') {
        const proba = model.predict(task, message.X);
        send({ type: 'predictions', batch: message.batch, ids: message.ids, proba });
      } else if (message.type === 'shutdown') {
        input.close();
      }
    } catch (error) {
      log(error.stack || String(error));
      send({ type: 'error', message: String(error.message || error) });
      process.exit(1);
    }
  });
  input.on('close', () => process.exit(0));
}

main();
