/**
 * The configuration tree `llmpool init` writes: small, valid, commented, one file of each kind. It points at the mock
 * upstream until `OPENAI_BASE_URL` and `OPENAI_API_KEY` say otherwise, so that it serves requests in the first minute
 * (`llmpool mock-upstream --port 9090`, then `llmpool serve`). TOML 1.0 only (no inline table spread over lines), so
 * that taplo and other editors' TOML tools accept every file; the `#:schema` first lines point at `.schemas/`, which
 * `init` writes too.
 */

/** The port the tree's default `base_url` expects the mock upstream on (the gateway's own default is 8080). */
export const INIT_MOCK_PORT = 9090

const registry = `#:schema ./.schemas/registry.schema.json
# Which files make up this configuration, and how it is loaded. Every key of every file: docs/reference.md in the
# llmpool repository.
# Check it with "llmpool validate DIR"; see what it does with "llmpool explain DIR --plan".

[registry]
version = "0.1.0"
description = "Starter configuration written by llmpool init"

# Each entry: a name (letters, digits, _ and -; no dots) and its file, relative to this directory.
# The name is how applications and other files refer to it; enabled = false keeps it out (or makes it a template).
[pools]
main_pool = { file = "pools/main-pool.toml", enabled = true }

[task_groups]
chat_group = { file = "task-groups/chat-group.toml", enabled = true }
fast_group = { file = "task-groups/fast-group.toml", enabled = true }

[wrappers]
pool_wrappers = { file = "wrappers/pool-wrappers.toml", enabled = true }
task_group_wrappers = { file = "wrappers/task-group-wrappers.toml", enabled = true }

[global]
config_validation = "strict"      # unknown keys are errors ("lenient": warnings)
enable_hot_reload = true          # a running gateway or ConfigStore applies valid edits, and keeps the old on error
use_defaults_on_failure = false   # true: an invalid value with a default runs with the default (a warning)

# What each entry needs: checked to be registered and enabled.
[dependencies]
main_pool = ["chat_group", "fast_group"]
pool_wrappers = ["main_pool"]
task_group_wrappers = ["chat_group", "fast_group"]
`

const pool = `#:schema ../.schemas/pool.schema.json
# A pool: one name that spreads requests over the instances (model x echelon) of its task groups.
# Every key: docs/reference.md; what a request does: docs/routing.md.

[pool]
name = "main_pool"                          # equals its key in _registry.toml
description = "Everyday traffic over both task groups"
task_groups = ["chat_group", "fast_group"]  # at equal echelon priority, earlier groups are preferred

[pool.rotation_strategy]
type = "round_robin"                        # round_robin | random | weighted | least_connections | custom:NAME

[pool.health_check]
interval = 30                               # seconds between probes of each instance (GET base_url/models)
failure_threshold = 3                       # failures in a row that take an instance out of rotation
recovery_time = 60                          # seconds it stays out

[pool.fallback]
strategy = "instance_rotation"              # on failure, try other instances of this pool
max_instance_attempts = 3                   # instances one request may try

# Admission: one token per request, before an instance is chosen.
[pool.rate_limiting]
enabled = true
algorithm = "token_bucket"

[pool.rate_limiting.token_bucket]
bucket_size = 100                           # the largest burst
refill_rate = "\${POOL_REQUESTS_PER_SECOND:20}"   # a whole \${VAR:default} takes the key's type: a number here
`

/** The key and URL lines of every echelon of the tree, with why they are there. */
const credentials = `# api_key and base_url apply to every model of this echelon, whatever its provider: give models that need
# other credentials an echelon of their own. The defaults reach the mock upstream (llmpool mock-upstream
# --port ${INIT_MOCK_PORT}); set OPENAI_BASE_URL=https://api.openai.com/v1 and OPENAI_API_KEY to call OpenAI.
api_key = "\${OPENAI_API_KEY:mock-key}"
base_url = "\${OPENAI_BASE_URL:http://127.0.0.1:${INIT_MOCK_PORT}/v1}"`

/** What both task groups write the same way. */
const groupSettings = `[task_group.fallback]
strategy = "echelon_down"         # the first echelon, then the next ones by priority
max_attempts = 3                  # instances one request may try, across echelons
retry_delay = 0.5                 # seconds before moving down to the next echelon

# Per instance: after failure_threshold failures in a row no calls for recovery_time seconds, then a trial call.
[task_group.circuit_breaker]
failure_threshold = 5
recovery_time = 30
half_open_requests = 1`

const chatGroup = `#:schema ../.schemas/task-group.schema.json
# A task group: echelons (tiers) of models of similar quality, tried from the best down.
# Every key: docs/reference.md; what a request does: docs/routing.md.

[task_group]
name = "chat_group"               # equals its key in _registry.toml
description = "Answers for people: the best model first, a cheaper one when it cannot serve"

${groupSettings}

# The best model.
[task_group.echelons.best]
models = ["openai:gpt-4o"]        # provider:model; each model is one instance
priority = 1                      # lower is tried first
timeout = 30                      # seconds one attempt may take
max_retries = 1                   # retries of one instance, for failures worth retrying
concurrency_limit = "\${CHAT_CONCURRENCY:10}"  # calls in flight per instance; a whole \${VAR:default} takes the key's type
rpm_limit = 300                   # requests per minute per instance
temperature = 0.7
${credentials}

# Cheaper: used when the best one fails, rests or is at its limits.
[task_group.echelons.backup]
models = ["openai:gpt-4o-mini"]
priority = 2
timeout = 20
max_retries = 2
temperature = 0.7
${credentials}
`

const fastGroup = `#:schema ../.schemas/task-group.schema.json
# A task group: echelons (tiers) of models of similar quality, tried from the best down.
# Every key: docs/reference.md; what a request does: docs/routing.md.

[task_group]
name = "fast_group"               # equals its key in _registry.toml
description = "Short answers where speed matters more than depth"

${groupSettings}

[task_group.echelons.primary]
models = ["openai:gpt-4o-mini"]
priority = 1
timeout = 15
max_tokens = 500                  # most tokens generated per request
${credentials}

[task_group.echelons.secondary]
models = ["openai:gpt-3.5-turbo"]
priority = 2
timeout = 15
max_tokens = 500
${credentials}
`

const poolWrappers = `#:schema ../.schemas/pool-wrappers.schema.json
# Wrappers present a pool or a task group as one model: the "model" clients send to the gateway, the model id of
# the AI SDK provider. The [global] table applies to the wrappers of this file. Every key: docs/reference.md.

[wrappers.main_pool_wrapper]
type = "pool"
pool_name = "main_pool"
description = "main_pool as one model"

[global]
default_timeout = 30              # seconds per attempt, for echelons that set no timeout
max_retries = 2                   # retries of one instance, for echelons that set no max_retries
# request_timeout = 60            # seconds a whole request may take; left out: room to walk the chain once

[global.error_handling]
retry_on_errors = ["timeout", "rate_limit", "network_error", "server_error"]
max_retry_delay = 10              # longest wait between two tries, seconds
backoff_factor = 2

[global.logging]
level = "info"
format = "json"
enable_request_logging = false    # true: one line per request (secrets are always redacted)
`

const taskGroupWrappers = `#:schema ../.schemas/task-group-wrappers.schema.json
# Wrappers of task groups. This file's [global] starts from the [global] of pool-wrappers.toml and may change
# any key of it, and add the two tool-calling keys below.

[wrappers.chat_group_wrapper]
type = "task_group"
task_group_name = "chat_group"
description = "chat_group as one model"

[wrappers.fast_group_wrapper]
type = "task_group"
task_group_name = "fast_group"
description = "fast_group as one model"

[global]
function_calling_enabled = true   # false: a request with tools fails with a clear error
tool_selection_strategy = "auto"  # auto | manual | priority
`

/** Files of the tree, by path relative to the directory, in the order they are written. */
export const INIT_FILES: ReadonlyArray<readonly [string, string]> = [
  ['_registry.toml', registry],
  ['pools/main-pool.toml', pool],
  ['task-groups/chat-group.toml', chatGroup],
  ['task-groups/fast-group.toml', fastGroup],
  ['wrappers/pool-wrappers.toml', poolWrappers],
  ['wrappers/task-group-wrappers.toml', taskGroupWrappers],
]

/** Where `init` writes the JSON Schemas the `#:schema` lines name, relative to the directory. */
export const INIT_SCHEMA_DIRECTORY = '.schemas'
