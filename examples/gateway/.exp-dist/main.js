// src/main.ts
import path from "path";
import { parseArgs } from "util";
import { ConfigError } from "@llmpool/config";

// src/server.ts
import { createHash, timingSafeEqual } from "crypto";
import { createServer } from "http";
import { createConfigStore } from "@llmpool/config";
import { createRedisBreakerGroup } from "@llmpool/breaker";
import { redisBackend } from "@llmpool/limiter";
import { openAICompatibleProvider, openAIProvider, Router } from "@llmpool/router";

// src/http-error.ts
import {
  AllAttemptsFailedError,
  NoInstanceAvailableError,
  RateLimitedError,
  RequestRejectedError,
  RequestTimeoutError,
  UnknownTargetError
} from "@llmpool/router";
var HttpError = class extends Error {
  constructor(status, type, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.headers = headers;
    this.name = "HttpError";
  }
  /** `{ error: { message, type, code, param: null } }`. */
  body() {
    return JSON.stringify({ error: { message: this.message, type: this.type, code: this.code, param: null } });
  }
};
function toHttpError(error) {
  if (error instanceof HttpError) return error;
  if (RateLimitedError.isInstance(error)) {
    const seconds = Math.max(1, Math.ceil(error.retryAfterMs / 1e3));
    return new HttpError(429, "rate_limit_error", "rate_limited", error.message, {
      "retry-after": String(seconds),
      "retry-after-ms": String(Math.max(0, Math.ceil(error.retryAfterMs)))
    });
  }
  if (UnknownTargetError.isInstance(error)) return new HttpError(404, "invalid_request_error", "model_not_found", error.message);
  if (RequestTimeoutError.isInstance(error)) return new HttpError(504, "timeout_error", "request_timeout", error.message);
  if (RequestRejectedError.isInstance(error)) return new HttpError(400, "invalid_request_error", "request_rejected", error.message);
  if (NoInstanceAvailableError.isInstance(error)) {
    const headers = error.retryAfterMs !== void 0 ? { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterMs / 1e3))) } : {};
    return new HttpError(503, "service_unavailable_error", "no_instance_available", error.message, headers);
  }
  if (AllAttemptsFailedError.isInstance(error)) {
    const answered = error.attempts[error.attempts.length - 1]?.error?.statusCode !== void 0;
    return new HttpError(answered ? 502 : 503, answered ? "upstream_error" : "service_unavailable_error", "all_attempts_failed", error.message);
  }
  return new HttpError(500, "server_error", "internal_error", "the gateway failed to handle the request");
}
function streamErrorBody(error) {
  const kind = typeof error === "object" && error !== null && "name" in error ? String(error.name) : "error";
  return JSON.stringify({ error: { message: `the upstream stream failed after it started (${kind})`, type: "upstream_error", code: "stream_interrupted", param: null } });
}

// src/convert-request.ts
var invalid = (message, param) => new HttpError(400, "invalid_request_error", param ? "invalid_value" : "invalid_request", param ? `${param}: ${message}` : message);
var isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
function textOf(content, where) {
  if (typeof content === "string") return content;
  if (content === null || content === void 0) return "";
  if (!Array.isArray(content)) throw invalid("must be a string or an array of content parts", where);
  let text = "";
  for (const part of content) {
    if (isObject(part) && part.type === "text" && typeof part.text === "string") text += part.text;
    else throw invalid("only text parts are accepted here", where);
  }
  return text;
}
function dataUrl(url) {
  const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (match) return { data: match[2] ? match[3] : Buffer.from(decodeURIComponent(match[3])).toString("base64"), mediaType: match[1] ?? "application/octet-stream" };
  try {
    return { data: new URL(url), mediaType: "image/*" };
  } catch {
    throw invalid("is not a URL", "image_url.url");
  }
}
function userContent(content, where) {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw invalid("must be a string or an array of content parts", where);
  return content.map((part, index) => {
    if (!isObject(part)) throw invalid("must be an object", `${where}[${index}]`);
    if (part.type === "text" && typeof part.text === "string") return { type: "text", text: part.text };
    if (part.type === "image_url") {
      const image = part.image_url;
      const url = typeof image === "string" ? image : isObject(image) && typeof image.url === "string" ? image.url : void 0;
      if (url === void 0) throw invalid("needs image_url.url", `${where}[${index}]`);
      const { data, mediaType } = dataUrl(url);
      return { type: "file", data, mediaType };
    }
    throw invalid(`content part type "${String(part.type)}" is not supported`, `${where}[${index}]`);
  });
}
function parseArguments(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
function toPrompt(messages) {
  if (!Array.isArray(messages) || messages.length === 0) throw invalid("must be a non-empty array", "messages");
  let toolNames;
  const prompt = [];
  messages.forEach((message, index) => {
    const where = `messages[${index}]`;
    if (!isObject(message)) throw invalid("must be an object", where);
    switch (message.role) {
      case "system":
      case "developer":
        prompt.push({ role: "system", content: textOf(message.content, `${where}.content`) });
        return;
      case "user":
        prompt.push({ role: "user", content: userContent(message.content, `${where}.content`) });
        return;
      case "assistant": {
        const content = [];
        const text = textOf(message.content, `${where}.content`);
        if (text !== "") content.push({ type: "text", text });
        const calls = message.tool_calls;
        if (calls !== void 0 && calls !== null) {
          if (!Array.isArray(calls)) throw invalid("must be an array", `${where}.tool_calls`);
          calls.forEach((call, callIndex) => {
            const fn = isObject(call) ? call.function : void 0;
            if (!isObject(call) || typeof call.id !== "string" || !isObject(fn) || typeof fn.name !== "string") {
              throw invalid("needs id and function.name", `${where}.tool_calls[${callIndex}]`);
            }
            ;
            (toolNames ??= /* @__PURE__ */ new Map()).set(call.id, fn.name);
            content.push({ type: "tool-call", toolCallId: call.id, toolName: fn.name, input: parseArguments(typeof fn.arguments === "string" ? fn.arguments : "{}") });
          });
        }
        prompt.push({ role: "assistant", content });
        return;
      }
      case "tool": {
        if (typeof message.tool_call_id !== "string") throw invalid("needs tool_call_id", where);
        const part = {
          type: "tool-result",
          toolCallId: message.tool_call_id,
          toolName: toolNames?.get(message.tool_call_id) ?? "unknown",
          output: { type: "text", value: textOf(message.content, `${where}.content`) }
        };
        const last = prompt[prompt.length - 1];
        if (last?.role === "tool") last.content.push(part);
        else prompt.push({ role: "tool", content: [part] });
        return;
      }
      default:
        throw invalid(`role "${String(message.role)}" is not supported`, `${where}.role`);
    }
  });
  return prompt;
}
var number = (value, param) => {
  if (value === void 0 || value === null) return void 0;
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid("must be a number", param);
  return value;
};
function tools(value) {
  if (value === void 0 || value === null) return void 0;
  if (!Array.isArray(value)) throw invalid("must be an array", "tools");
  return value.map((tool, index) => {
    const fn = isObject(tool) ? tool.function : void 0;
    if (!isObject(tool) || tool.type !== "function" || !isObject(fn) || typeof fn.name !== "string") {
      throw invalid('must be { type: "function", function: { name, parameters? } }', `tools[${index}]`);
    }
    return {
      type: "function",
      name: fn.name,
      ...typeof fn.description === "string" ? { description: fn.description } : {},
      inputSchema: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} },
      ...typeof fn.strict === "boolean" ? { strict: fn.strict } : {}
    };
  });
}
function toolChoice(value) {
  if (value === void 0 || value === null) return void 0;
  if (value === "auto" || value === "none" || value === "required") return { type: value };
  if (isObject(value) && value.type === "function" && isObject(value.function) && typeof value.function.name === "string") {
    return { type: "tool", toolName: value.function.name };
  }
  throw invalid('must be "auto", "none", "required" or { type: "function", function: { name } }', "tool_choice");
}
function responseFormat(value) {
  if (value === void 0 || value === null) return void 0;
  if (!isObject(value)) throw invalid("must be an object", "response_format");
  if (value.type === "text") return { type: "text" };
  if (value.type === "json_object") return { type: "json" };
  if (value.type === "json_schema" && isObject(value.json_schema)) {
    const spec = value.json_schema;
    return {
      type: "json",
      ...isObject(spec.schema) ? { schema: spec.schema } : {},
      ...typeof spec.name === "string" ? { name: spec.name } : {},
      ...typeof spec.description === "string" ? { description: spec.description } : {}
    };
  }
  throw invalid("type must be text, json_object or json_schema", "response_format");
}
function set(call, key, value) {
  if (value !== void 0) call[key] = value;
}
function toCallOptions(body) {
  const stop = body.stop;
  if (stop !== void 0 && stop !== null && typeof stop !== "string" && !(Array.isArray(stop) && stop.every((s) => typeof s === "string"))) {
    throw invalid("must be a string or an array of strings", "stop");
  }
  const call = { prompt: toPrompt(body.messages) };
  const temperature = number(body.temperature, "temperature");
  if (temperature !== void 0) call.temperature = temperature;
  const maxOutputTokens = number(body.max_completion_tokens ?? body.max_tokens, body.max_completion_tokens !== void 0 ? "max_completion_tokens" : "max_tokens");
  if (maxOutputTokens !== void 0) call.maxOutputTokens = maxOutputTokens;
  if (body.top_p !== void 0) set(call, "topP", number(body.top_p, "top_p"));
  if (body.seed !== void 0) set(call, "seed", number(body.seed, "seed"));
  if (body.frequency_penalty !== void 0) set(call, "frequencyPenalty", number(body.frequency_penalty, "frequency_penalty"));
  if (body.presence_penalty !== void 0) set(call, "presencePenalty", number(body.presence_penalty, "presence_penalty"));
  if (stop !== void 0 && stop !== null) call.stopSequences = typeof stop === "string" ? [stop] : stop;
  if (body.response_format !== void 0) set(call, "responseFormat", responseFormat(body.response_format));
  if (body.tools !== void 0) set(call, "tools", tools(body.tools));
  if (body.tool_choice !== void 0) set(call, "toolChoice", toolChoice(body.tool_choice));
  return call;
}
function parseBody(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_request_error", "invalid_json", "the request body is not valid JSON");
  }
  if (!isObject(body)) throw invalid("the request body must be a JSON object");
  if (typeof body.model !== "string" || body.model === "") throw invalid("is required (a wrapper, pool or task group name)", "model");
  if (body.stream !== void 0 && typeof body.stream !== "boolean") throw invalid("must be a boolean", "stream");
  return body;
}

// src/convert-response.ts
var sequence = 0;
var completionId = () => `chatcmpl-${Date.now().toString(36)}${(++sequence).toString(36)}`;
function finishReason(reason) {
  switch (reason?.unified) {
    case "tool-calls":
      return "tool_calls";
    case "length":
      return "length";
    case "content-filter":
      return "content_filter";
    default:
      return "stop";
  }
}
function usageOf(usage) {
  const prompt = usage?.inputTokens.total ?? 0;
  const completion = usage?.outputTokens.total ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
function toChatCompletion(result, model, id = completionId()) {
  let text = "";
  let hasText = false;
  const toolCalls = [];
  for (const part of result.content) {
    if (part.type === "text") {
      text += part.text;
      hasText = true;
    } else if (part.type === "tool-call") {
      toolCalls.push({ id: part.toolCallId, type: "function", function: { name: part.toolName, arguments: part.input } });
    }
  }
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1e3),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: hasText || toolCalls.length === 0 ? text : null, refusal: null, ...toolCalls.length > 0 ? { tool_calls: toolCalls } : {} },
        logprobs: null,
        finish_reason: finishReason(result.finishReason)
      }
    ],
    usage: usageOf(result.usage)
  };
}
var ChunkWriter = class {
  constructor(write, model, includeUsage, id = completionId()) {
    this.write = write;
    this.includeUsage = includeUsage;
    const created = Math.floor(Date.now() / 1e3);
    this.prefix = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,`;
  }
  prefix;
  toolIndex = /* @__PURE__ */ new Map();
  started = false;
  chunk(delta, finish = null) {
    this.write(`${this.prefix}"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? "null" : JSON.stringify(finish)}}]}

`);
  }
  /** The role chunk; sent before the first delta. */
  start() {
    if (this.started) return;
    this.started = true;
    this.chunk({ role: "assistant", content: "" });
  }
  /** Handles one part; returns true for `finish`. Error parts are the caller's. */
  part(part) {
    switch (part.type) {
      case "text-delta":
        if (part.delta === "") return false;
        this.start();
        this.chunk({ content: part.delta });
        return false;
      case "tool-input-start": {
        this.start();
        const index = this.toolIndex.size;
        this.toolIndex.set(part.id, index);
        this.chunk({ tool_calls: [{ index, id: part.id, type: "function", function: { name: part.toolName, arguments: "" } }] });
        return false;
      }
      case "tool-input-delta": {
        const index = this.toolIndex.get(part.id);
        if (index !== void 0 && part.delta !== "") this.chunk({ tool_calls: [{ index, function: { arguments: part.delta } }] });
        return false;
      }
      case "tool-call": {
        if (this.toolIndex.has(part.toolCallId)) return false;
        this.start();
        const index = this.toolIndex.size;
        this.toolIndex.set(part.toolCallId, index);
        this.chunk({ tool_calls: [{ index, id: part.toolCallId, type: "function", function: { name: part.toolName, arguments: part.input } }] });
        return false;
      }
      case "finish":
        this.start();
        this.chunk({}, finishReason(part.finishReason));
        if (this.includeUsage) this.write(`${this.prefix}"choices":[],"usage":${JSON.stringify(usageOf(part.usage))}}

`);
        return true;
      default:
        return false;
    }
  }
};

// src/pass-through.ts
import { APICallError } from "@ai-sdk/provider";
import { apiRoot } from "@llmpool/router";
var PASS_THROUGH_KEY = "llmpoolGatewayPassThrough";
var finishReasons = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter"
};
var QUOTE = 34;
var BACKSLASH = 92;
var COLON = 58;
var OPEN_BRACE = 123;
var OPEN_BRACKET = 91;
var CLOSE_BRACE = 125;
var CLOSE_BRACKET = 93;
var ERROR_FIRST = /^\s*\{\s*"error"\s*:/;
var SCAN_LIMIT = 8192;
var isSpace = (code) => code === 32 || code === 10 || code === 13 || code === 9;
function skipSpace(text, index) {
  while (index < text.length && isSpace(text.charCodeAt(index))) index++;
  return index;
}
function stringEnd(text, index) {
  for (let at = index + 1; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === BACKSLASH) at++;
    else if (code === QUOTE) return at + 1;
  }
  return text.length;
}
function depthOfTokenAt(text, index) {
  let depth = 0;
  for (let at = 0; at < index; at++) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) {
      at = stringEnd(text, at) - 1;
      if (at >= index) return -1;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--;
  }
  return depth;
}
function valueOf(text, name, from, end = text.length) {
  for (let key = text.indexOf(name, from); key >= 0 && key < end; key = text.indexOf(name, key + 1)) {
    const colon = skipSpace(text, key + name.length);
    if (text.charCodeAt(colon) === COLON) return { key, value: skipSpace(text, colon + 1) };
  }
  return -1;
}
function topLevelModel(text, end = text.length) {
  const limit = Math.min(end, SCAN_LIMIT);
  for (let from = 0; ; ) {
    const found = valueOf(text, '"model"', from, limit);
    if (found === -1) return void 0;
    if (depthOfTokenAt(text, found.key) === 1) {
      return text.charCodeAt(found.value) === QUOTE ? [found.value, stringEnd(text, found.value)] : void 0;
    }
    from = found.key + 1;
  }
}
function numberAfter(text, name, from) {
  const found = valueOf(text, name, from);
  if (found === -1) return void 0;
  let value = 0;
  let at = found.value;
  for (let code = text.charCodeAt(at); code >= 48 && code <= 57; code = text.charCodeAt(++at)) value = value * 10 + (code - 48);
  return at > found.value ? value : void 0;
}
function stringAfter(text, name) {
  const found = valueOf(text, name, 0);
  if (found === -1 || text.charCodeAt(found.value) !== QUOTE) return void 0;
  const close = text.indexOf('"', found.value + 1);
  return close < 0 ? void 0 : text.slice(found.value + 1, close);
}
function upstreamBody(request, modelId, call) {
  const { text, body } = request;
  let extra = "";
  if (body.temperature === void 0 && call.temperature !== void 0) extra += `,"temperature":${JSON.stringify(call.temperature)}`;
  if (body.max_tokens === void 0 && body.max_completion_tokens === void 0 && call.maxOutputTokens !== void 0) {
    extra += `,"max_tokens":${JSON.stringify(call.maxOutputTokens)}`;
  }
  const span = body.stream_options === void 0 && body.stream !== true ? topLevelModel(text) : void 0;
  const close = span ? text.lastIndexOf("}") : -1;
  if (span && close >= span[1]) {
    return `${text.slice(0, span[0])}${JSON.stringify(modelId)}${text.slice(span[1], close)}${extra}${text.slice(close)}`;
  }
  const copy = { ...body, model: modelId, stream: false };
  delete copy.stream_options;
  if (body.temperature === void 0) copy.temperature = call.temperature;
  if (body.max_tokens === void 0 && body.max_completion_tokens === void 0) copy.max_tokens = call.maxOutputTokens;
  return JSON.stringify(copy);
}
function passThroughResult(text, modelSpan) {
  const usageAt = text.lastIndexOf('"usage"');
  const input = usageAt < 0 ? void 0 : numberAfter(text, '"prompt_tokens"', usageAt);
  const output = usageAt < 0 ? void 0 : numberAfter(text, '"completion_tokens"', usageAt);
  const raw = stringAfter(text, '"finish_reason"');
  const answer = modelSpan ? { text, modelSpan } : { text };
  return {
    content: [],
    finishReason: { unified: finishReasons[raw ?? "stop"] ?? "other", raw },
    usage: {
      inputTokens: { total: input, noCache: void 0, cacheRead: void 0, cacheWrite: void 0 },
      outputTokens: { total: output, text: void 0, reasoning: void 0 }
    },
    warnings: [],
    providerMetadata: { [PASS_THROUGH_KEY]: answer }
  };
}
function passThroughProvider(inner, upstreams, defaultRoot, defaultKey) {
  return {
    ...inner.probe ? { probe: inner.probe.bind(inner) } : {},
    async createModel(settings) {
      const model = await inner.createModel(settings);
      const root2 = apiRoot(settings.baseURL) ?? defaultRoot;
      const url = `${root2}/chat/completions`;
      const target = root2 === void 0 ? void 0 : new URL(url);
      const key = settings.apiKey ? settings.apiKey : defaultKey?.();
      const headers = { "content-type": "application/json", ...key ? { authorization: `Bearer ${key}` } : {} };
      const passThrough = {
        specificationVersion: "v3",
        provider: model.provider,
        modelId: model.modelId,
        supportedUrls: model.supportedUrls,
        doStream: (call) => model.doStream(call),
        async doGenerate(call) {
          const request = call.providerOptions?.[PASS_THROUGH_KEY];
          if (request === void 0 || target === void 0) return model.doGenerate(call);
          const requestBody = upstreamBody(request, settings.modelId, call);
          let response;
          try {
            response = await upstreams.post(target, headers, requestBody, call);
          } catch (error) {
            throw new APICallError({ message: `request to ${root2} failed: ${error.message}`, url, requestBodyValues: request.body, cause: error, isRetryable: true });
          }
          const text = response.text;
          const status = response.status;
          if (status >= 400) {
            throw new APICallError({
              message: `upstream answered ${status}`,
              url,
              requestBodyValues: request.body,
              statusCode: status,
              ...response.headers ? { responseHeaders: response.headers } : {},
              responseBody: text.slice(0, 2e3),
              isRetryable: status === 408 || status === 409 || status === 429 || status >= 500
            });
          }
          const choices = text.indexOf('"choices"');
          if (choices < 0 || text.charCodeAt(skipSpace(text, 0)) !== OPEN_BRACE || ERROR_FIRST.test(text)) {
            throw new APICallError({ message: "upstream answered an error in a 200 body", url, requestBodyValues: request.body, statusCode: 502, responseBody: text.slice(0, 2e3), isRetryable: true });
          }
          return passThroughResult(text, topLevelModel(text, choices));
        }
      };
      return passThrough;
    }
  };
}
function rewriteModel(answer, model) {
  const span = answer.modelSpan;
  if (span) return `${answer.text.slice(0, span[0])}${JSON.stringify(model)}${answer.text.slice(span[1])}`;
  const parsed = JSON.parse(answer.text);
  parsed.model = model;
  return JSON.stringify(parsed);
}

// src/prometheus.ts
import { LATENCY_BUCKETS_MS } from "@llmpool/router";
var escape = (value) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
var labels = (pairs) => `{${Object.entries(pairs).map(([key, value]) => `${key}="${escape(value)}"`).join(",")}}`;
var BREAKER_STATE = { closed: 0, half_open: 1, open: 2 };
var Exposition = class {
  families = /* @__PURE__ */ new Map();
  sample(name, type, help, line) {
    let family = this.families.get(name);
    if (!family) this.families.set(name, family = { help, type, lines: [] });
    family.lines.push(line);
  }
  value(name, type, help, pairs, value) {
    this.sample(name, type, help, `${name}${labels(pairs)} ${Number.isFinite(value) ? value : 0}`);
  }
  histogram(name, help, pairs, histogram) {
    let cumulative = 0;
    for (const bound of [...LATENCY_BUCKETS_MS.map(String), "+Inf"]) {
      cumulative += histogram.buckets[bound] ?? 0;
      const le = bound === "+Inf" ? "+Inf" : String(Number(bound) / 1e3);
      this.sample(name, "histogram", help, `${name}_bucket${labels({ ...pairs, le })} ${cumulative}`);
    }
    this.sample(name, "histogram", help, `${name}_sum${labels(pairs)} ${histogram.sumMs / 1e3}`);
    this.sample(name, "histogram", help, `${name}_count${labels(pairs)} ${histogram.count}`);
  }
  toString() {
    let text = "";
    for (const [name, family] of this.families) text += `# HELP ${name} ${family.help}
# TYPE ${name} ${family.type}
${family.lines.join("\n")}
`;
    return text;
  }
};
function limiter(out, pairs, state) {
  if (!state) return;
  for (const part of state.parts ?? [state]) {
    const withKind = { ...pairs, limit_kind: part.kind };
    out.value("llmpool_limiter_available", "gauge", "Capacity available now: tokens, slots left in the window, free permits.", withKind, part.available);
    out.value("llmpool_limiter_limit", "gauge", "The most the limiter admits.", withKind, part.limit);
    out.value("llmpool_limiter_in_flight", "gauge", "Leases held and not yet released.", withKind, part.inFlight);
    out.value("llmpool_limiter_queued", "gauge", "Requests waiting for capacity.", withKind, part.queued);
  }
}
async function prometheusText(router, gateway) {
  const out = new Exposition();
  const snapshot = router.metrics?.snapshot();
  if (snapshot) {
    const series = [
      ["pool", "pool", snapshot.pools],
      ["task_group", "task_group", snapshot.taskGroups],
      ["instance", "instance", snapshot.instances]
    ];
    for (const [scope, label, map] of series) {
      for (const [name, totals] of Object.entries(map)) {
        const pairs = { scope, [label]: name };
        out.value("llmpool_requests_total", "counter", "Requests (pools, task groups) and attempts (instances).", pairs, totals.requests);
        out.value("llmpool_successes_total", "counter", "Requests or attempts that succeeded.", pairs, totals.successes);
        for (const [kind, count] of Object.entries(totals.failures)) {
          out.value("llmpool_failures_total", "counter", "Failures by kind (router error code for targets, failure kind for instances).", { ...pairs, kind }, count ?? 0);
        }
        out.value("llmpool_retries_total", "counter", "Retries on the same instance.", pairs, totals.retries);
        out.value("llmpool_fallbacks_total", "counter", "Moves to another instance, echelon or pool.", pairs, totals.fallbacks);
        out.value("llmpool_rate_limited_total", "counter", "Times a request found its target at its limits.", pairs, totals.rateLimited);
        out.value("llmpool_breaker_trips_total", "counter", "Times a breaker opened.", pairs, totals.breakerTrips);
        out.value("llmpool_input_tokens_total", "counter", "Input tokens reported by upstreams.", pairs, totals.inputTokens);
        out.value("llmpool_output_tokens_total", "counter", "Output tokens reported by upstreams.", pairs, totals.outputTokens);
        out.value("llmpool_in_flight", "gauge", "Requests or attempts in flight.", pairs, totals.inFlight);
        out.histogram("llmpool_request_duration_seconds", "Latency of requests (targets) and attempts (instances).", pairs, totals.latency);
        if (totals.timeToFirstToken.count > 0) {
          out.histogram("llmpool_time_to_first_token_seconds", "Time to the first content part of streams.", pairs, totals.timeToFirstToken);
        }
      }
    }
  }
  const state = await router.state();
  for (const instance of state.instances) {
    const pairs = { instance: instance.key };
    out.value("llmpool_breaker_state", "gauge", "Circuit breaker state: 0 closed, 1 half_open, 2 open.", pairs, BREAKER_STATE[instance.breaker.state] ?? 0);
    out.value("llmpool_instance_healthy", "gauge", "1 when the instance is healthy.", pairs, instance.health.healthy ? 1 : 0);
    limiter(out, { scope: "instance", instance: instance.key }, instance.limits);
  }
  for (const pool of state.pools) limiter(out, { scope: "pool", pool: pool.name }, pool.limits);
  for (const [status, count] of gateway.requests) {
    out.value("llmpool_gateway_http_responses_total", "counter", "HTTP responses of the gateway by status.", { status }, count);
  }
  out.value("llmpool_gateway_http_in_flight", "gauge", "HTTP requests being served.", {}, gateway.inFlight);
  return out.toString();
}

// src/upstream.ts
import { onAbort } from "@llmpool/router";
import { Pool } from "undici";
var MAX_ANSWER_BYTES = 64 * 1024 * 1024;
var Upstreams = class {
  pools = /* @__PURE__ */ new Map();
  pool(origin) {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 3e4, headersTimeout: 0, bodyTimeout: 0 });
      this.pools.set(origin, pool);
    }
    return pool;
  }
  /** POSTs `body` to `url`; rejects on network errors and on the call's abort (with the abort reason). */
  post(url, headers, body, call) {
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(resolve, reject);
      exchange.stopListening = onAbort(call, (reason) => exchange.abortWith(reason));
      try {
        this.pool(url.origin).dispatch({ path: url.pathname + url.search, method: "POST", headers, body }, exchange);
      } catch (error) {
        exchange.onError(error);
      }
    });
  }
  async close() {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }
};
var Exchange = class {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
  }
  stopListening = noop;
  abortRequest;
  abortedWith;
  done = false;
  status = 0;
  rawHeaders;
  chunks = [];
  size = 0;
  abortWith(reason) {
    this.abortedWith = reason ?? new Error("aborted");
    this.abortRequest?.(this.abortedWith);
  }
  onConnect(abort) {
    this.abortRequest = abort;
    if (this.abortedWith !== void 0) abort(this.abortedWith);
  }
  onError(error) {
    if (this.done) return;
    this.done = true;
    this.stopListening();
    this.reject(this.abortedWith ?? error);
  }
  onHeaders(statusCode, headers) {
    this.status = statusCode;
    if (statusCode >= 400) this.rawHeaders = headers ?? [];
    return true;
  }
  onData(chunk) {
    this.size += chunk.length;
    if (this.size > MAX_ANSWER_BYTES) {
      this.abortRequest?.(new Error(`the upstream's answer is larger than ${MAX_ANSWER_BYTES} bytes`));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }
  onComplete() {
    if (this.done) return;
    this.done = true;
    this.stopListening();
    const { chunks, status, rawHeaders } = this;
    const text = chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
    this.resolve(rawHeaders ? { status, text, headers: headerRecord(rawHeaders) } : { status, text });
  }
};
var noop = () => void 0;
function headerRecord(raw) {
  const headers = {};
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index].toString("latin1").toLowerCase();
    const value = raw[index + 1].toString("latin1");
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

// src/server.ts
var MiB = 1024 * 1024;
var JSON_TYPE = "application/json";
var STATUS_KEYS = Object.fromEntries([200, 400, 401, 404, 413, 429, 500, 502, 503, 504].map((status) => [status, String(status)]));
var digest = (value) => createHash("sha256").update(value).digest();
function providerNames(config) {
  const names = /* @__PURE__ */ new Set();
  for (const group of Object.values(config.task_groups)) {
    for (const echelon of Object.values(group.echelons ?? {})) {
      for (const model of echelon.models ?? []) {
        const colon = model.indexOf(":");
        if (colon > 0) names.add(model.slice(0, colon));
      }
    }
  }
  return names;
}
function resolveTarget(config, model) {
  const wrapper = config.wrappers[model];
  if (wrapper) return wrapper.pool_name ?? wrapper.task_group_name ?? model;
  if (model in config.pools || model in config.task_groups) return model;
  throw new HttpError(404, "invalid_request_error", "model_not_found", `the model "${model}" does not exist: name a wrapper, pool or task group (GET /v1/models)`);
}
async function startGateway(options) {
  const ownsStore = typeof options.config === "string";
  const store = typeof options.config === "string" ? await createConfigStore({ directory: options.config, ...options.watch !== void 0 ? { watch: options.watch } : {}, ...options.env ? { env: options.env } : {} }) : options.config;
  const ownsLimits = options.limits === void 0 && options.redis !== void 0;
  const limits = options.limits ?? (options.redis ? redisBackend({ redis: options.redis, prefix: options.redisPrefix ?? "llmpool" }) : void 0);
  const upstreams = new Upstreams();
  const providers = {};
  if (options.passThrough !== false) {
    providers.openai = passThroughProvider(openAIProvider(options.router?.openai), upstreams, "https://api.openai.com/v1", () => process.env.OPENAI_API_KEY);
    for (const name of providerNames(store.current)) {
      if (name !== "openai" && name !== "anthropic") providers[name] = passThroughProvider(openAICompatibleProvider(), upstreams);
    }
  }
  Object.assign(providers, options.providers);
  const breakers = options.redis ? await createRedisBreakerGroup({ redis: options.redis, keyPrefix: `${options.redisPrefix ?? "llmpool"}:breaker` }) : void 0;
  const router = new Router({ ...options.router, config: store, providers, ...limits ? { limits } : {}, ...breakers ? { breakers } : {} });
  const token = options.token ?? process.env.LLMPOOL_GATEWAY_TOKEN;
  const tokenDigest = token ? digest(`Bearer ${token}`) : void 0;
  const maxBodyBytes = options.maxBodyBytes ?? MiB;
  const started = Math.floor(Date.now() / 1e3);
  const responses = /* @__PURE__ */ new Map();
  const inFlight = /* @__PURE__ */ new Set();
  const connectionAborts = /* @__PURE__ */ new WeakMap();
  const connectionSignal = (socket) => {
    let controller = connectionAborts.get(socket);
    if (!controller) connectionAborts.set(socket, controller = new AbortController());
    return controller.signal;
  };
  const abortConnection = (socket, reason) => {
    const controller = connectionAborts.get(socket);
    if (!controller) return;
    connectionAborts.delete(socket);
    controller.abort(reason);
  };
  let closing = false;
  let drained;
  const count = (status) => {
    const key = STATUS_KEYS[status] ?? String(status);
    responses.set(key, (responses.get(key) ?? 0) + 1);
  };
  const send = (response, status, body, headers, type = JSON_TYPE) => {
    count(status);
    if (headers === void 0 && !closing && !response.headersSent) {
      response.writeHead(status, ["content-type", type, "content-length", String(Buffer.byteLength(body))]);
      response.end(body);
      return;
    }
    if (response.headersSent) return void response.end();
    response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...closing ? { connection: "close" } : {}, ...headers });
    response.end(body);
  };
  const sendError = (response, error) => {
    const http = toHttpError(error);
    send(response, http.status, http.body(), http.headers);
  };
  const readBody = (request) => new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"]);
    const tooLarge = () => new HttpError(413, "invalid_request_error", "request_too_large", `the request body is larger than ${maxBodyBytes} bytes`);
    if (declared > maxBodyBytes) return reject(tooLarge());
    const chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        request.removeAllListeners("data");
        request.resume();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    request.on("end", () => resolve(chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
  const chat = async (request, response) => {
    const text = await readBody(request);
    const body = parseBody(text);
    const model = body.model;
    const target = resolveTarget(store.current, model);
    const call = toCallOptions(body);
    const signal = connectionSignal(request.socket);
    call.abortSignal = signal;
    if (body.stream !== true) {
      if (options.passThrough !== false) {
        const passThrough = { text, body };
        call.providerOptions = { [PASS_THROUGH_KEY]: passThrough };
      }
      const result = await router.generate(target, call, { signal });
      const raw = result.providerMetadata?.[PASS_THROUGH_KEY];
      send(response, 200, raw ? rewriteModel(raw, model) : JSON.stringify(toChatCompletion(result, model)));
      return;
    }
    const { stream } = await router.stream(target, call, { signal });
    count(200);
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...closing ? { connection: "close" } : {} });
    let pending = "";
    const writer = new ChunkWriter((event) => void (pending += event), model, body.stream_options?.include_usage === true, completionId());
    writer.start();
    const reader = stream.getReader();
    const flush = async () => {
      if (pending === "") return;
      const ok = response.write(pending);
      pending = "";
      if (!ok && !response.destroyed) await new Promise((resolve) => response.once("drain", resolve).once("close", resolve));
    };
    try {
      for (; ; ) {
        const { done, value } = await reader.read();
        if (done) {
          await flush();
          response.end(`data: ${streamErrorBody(new Error("the stream ended without finishing"))}

`);
          return;
        }
        const part = value;
        if (part.type === "error") {
          await flush();
          response.end(`data: ${streamErrorBody(part.error)}

`);
          void reader.cancel().catch(() => void 0);
          return;
        }
        if (writer.part(part)) {
          pending += "data: [DONE]\n\n";
          response.end(pending);
          void reader.cancel().catch(() => void 0);
          return;
        }
        await flush();
        if (response.destroyed) return;
      }
    } finally {
      reader.releaseLock();
    }
  };
  const authorized = (request) => {
    if (!tokenDigest) return true;
    const header = request.headers.authorization;
    return typeof header === "string" && timingSafeEqual(digest(header), tokenDigest);
  };
  const models = () => {
    const config = store.current;
    const item = (id, owned_by) => ({ id, object: "model", created: started, owned_by });
    return JSON.stringify({
      object: "list",
      data: [
        ...Object.keys(config.wrappers).map((name) => item(name, "llmpool:wrapper")),
        ...Object.keys(config.pools).map((name) => item(name, "llmpool:pool")),
        ...Object.keys(config.task_groups).map((name) => item(name, "llmpool:task_group"))
      ]
    });
  };
  const adminState = async () => {
    const config = store.current;
    const state = await router.state();
    return JSON.stringify({
      configuration: { hash: config.source.hash, version: config.registry.registry?.version },
      wrappers: Object.fromEntries(Object.entries(config.wrappers).map(([name, wrapper]) => [name, wrapper.pool_name ?? wrapper.task_group_name])),
      targets: router.targets(),
      pools: state.pools,
      instances: state.instances,
      inFlight: inFlight.size
    });
  };
  function onResponseClose() {
    const request = this.req;
    if (!this.writableFinished) abortConnection(request.socket, new Error("the client went away"));
    inFlight.delete(request);
    if (closing && inFlight.size === 0) drained?.();
  }
  const server = createServer(async (request, response) => {
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path2 = query < 0 ? url : url.slice(0, query);
    inFlight.add(request);
    response.on("close", onResponseClose);
    try {
      if (path2 === "/healthz") return send(response, 200, JSON.stringify({ status: closing ? "draining" : "ok" }));
      if (!authorized(request)) {
        return send(response, 401, new HttpError(401, "invalid_request_error", "invalid_api_key", "a valid bearer token is required").body(), { "www-authenticate": "Bearer" });
      }
      const method = request.method ?? "GET";
      if (method === "POST" && (path2 === "/v1/chat/completions" || path2 === "/chat/completions")) return await chat(request, response);
      if (method === "GET" && (path2 === "/v1/models" || path2 === "/models")) return send(response, 200, models());
      if (method === "GET" && path2 === "/metrics") return send(response, 200, await prometheusText(router, { requests: responses, inFlight: inFlight.size }), {}, "text/plain; version=0.0.4; charset=utf-8");
      if (method === "GET" && path2 === "/admin/state") return send(response, 200, await adminState());
      send(response, 404, new HttpError(404, "invalid_request_error", "not_found", `no route ${method} ${path2}`).body());
    } catch (error) {
      if (response.headersSent) {
        if (!response.writableEnded) response.end(`data: ${streamErrorBody(error)}

`);
        return;
      }
      const http = toHttpError(error);
      if (http.status === 413) response.shouldKeepAlive = false;
      sendError(response, http);
    }
  });
  server.keepAliveTimeout = 65e3;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed;
  const close = () => closed ??= (async () => {
    closing = true;
    const stopped = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight.size > 0) {
      await new Promise((resolve) => {
        drained = resolve;
        const timer = setTimeout(resolve, options.shutdownTimeoutMs ?? 1e4);
        timer.unref();
      });
      for (const request of inFlight) abortConnection(request.socket, new Error("the gateway is shutting down"));
    }
    server.closeAllConnections();
    await stopped;
    await router.dispose();
    await breakers?.dispose();
    if (ownsLimits) await limits?.dispose();
    if (ownsStore) await store.dispose();
    await upstreams.close();
  })();
  return { url: `http://${host}:${address.port}`, router, store, close };
}

// src/main.ts
var { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/llms" },
    port: { type: "string", default: "8080" },
    host: { type: "string", default: "127.0.0.1" },
    redis: { type: "string" },
    "redis-prefix": { type: "string" },
    watch: { type: "boolean" },
    "no-pass-through": { type: "boolean", default: false },
    "timeout-ms": { type: "string" }
  }
});
var port = Number(values.port);
if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error("--port takes a port number");
  process.exit(2);
}
var root = path.resolve(import.meta.dirname, "../../..");
var directory = path.resolve(process.env.INIT_CWD ?? root, values.config);
try {
  const gateway = await startGateway({
    config: directory,
    port,
    host: values.host,
    ...values.redis ? { redis: values.redis } : {},
    ...values["redis-prefix"] ? { redisPrefix: values["redis-prefix"] } : {},
    ...values.watch ? { watch: true } : {},
    passThrough: !values["no-pass-through"],
    ...values["timeout-ms"] ? { router: { requestTimeoutMs: Number(values["timeout-ms"]) } } : {}
  });
  process.send?.({ url: gateway.url });
  console.log(`llmpool gateway on ${gateway.url} (config ${path.relative(process.cwd(), directory) || "."})`);
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining`);
    void gateway.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("disconnect", () => stop("disconnect"));
} catch (error) {
  if (ConfigError.isInstance(error)) {
    for (const problem of error.problems) console.error(`${problem.file}:${problem.line ?? "?"}  ${problem.path}  ${problem.message}`);
    process.exit(2);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
