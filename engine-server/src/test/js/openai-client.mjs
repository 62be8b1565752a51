// The official OpenAI Node SDK against sdj serve: node openai-client.mjs <baseURL> <apiKey>
// Prints one JSON line: the images of a successful images.generate and the error of a refused one.
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120000 });
const out = {};
const result = await client.images.generate({ model: 'sdj', prompt: 'a red fox in the snow', n: 2, size: '64x64', response_format: 'b64_json' });
out.created = result.created;
out.images = result.data.map((d) => d.b64_json);
try {
  await client.images.generate({ prompt: 'a red fox', response_format: 'url' });
  out.url = 'accepted';
} catch (e) {
  out.url = { status: e.status, message: e.message, param: e.param ?? (e.error && e.error.param) };
}
try {
  await new OpenAI({ baseURL, apiKey: 'wrong-' + apiKey, maxRetries: 0 }).images.generate({ prompt: 'a red fox', size: '64x64' });
  out.wrongKey = 'accepted';
} catch (e) {
  out.wrongKey = { status: e.status, message: e.message };
}
console.log(JSON.stringify(out));
