/** One command of `gatehouse`, as `--help` describes it. */
interface CommandHelp {
  /** The words that name it: `serve`, `keys create`. */
  readonly name: string;
  readonly synopsis: string;
  /** One line for the global usage. */
  readonly summary: string;
  /** What `gatehouse <command> --help` adds: what it does, its options, an example. */
  readonly details: string;
}

const commands: readonly CommandHelp[] = [
  {
    name: 'serve',
    synopsis: 'serve [--config FILE] [--demo]',
    summary: 'start the gateway (--demo adds the built-in demo tenant and API)',
    details: `Starts the gateway on the config's listen address (GATEHOUSE_LISTEN, default 127.0.0.1:8787), runs pending
migrations, and serves the MCP endpoints, the admin API, the connect and approval pages and /metrics.
Every \${env:NAME} the config uses must be set; a missing one names its field path.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --demo              add the demo tenant: a built-in tasks API, a client key in .gatehouse/demo-client-key

Example:
  gatehouse serve --config gatehouse.yaml`,
  },
  {
    name: 'check',
    synopsis: 'check --config FILE [--json]',
    summary: "validate a config; list each toolset's tools with token sizes",
    details: `Validates the config and every description it names, then lists each toolset's tools with the tokens
their tools/list costs. Warns about unset \${env:...} secrets (not needed to check), loopback or private upstreams
not allowed by name, and tool globs that match nothing. Exit 2 on an invalid config.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --json              machine-readable output`,
  },
  {
    name: 'import',
    synopsis: 'import FILE [--service ID] [--json]',
    summary: 'preview the tools a description becomes',
    details: `Reads an OpenAPI 3.0/3.1 or Swagger 2.0 description (JSON or YAML), a Google Discovery document, a GraphQL
schema (SDL or introspection JSON) or a WSDL file, and prints the tools it becomes: name, method, path, safety and
token size. Nothing is stored.

Options:
  --service ID   the service id the tool names start with (default: api)
  --json         machine-readable output`,
  },
  {
    name: 'keys create',
    synopsis: 'keys create --config FILE --tenant T --toolset S [--toolset S2] [--subject U] [--name N]',
    summary: 'create a client key (printed once; only its hash is stored)',
    details: `Creates a client key for the given tenant and toolsets, acting for --subject (default: shared). The key
is printed once on standard output; only its hash is stored.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --tenant T          the tenant
  --toolset S         a toolset the key may use (repeat for several)
  --subject U         whose connections the key acts with (default: shared)
  --name N            a name for the key, shown in the audit log (default: generated)`,
  },
  {
    name: 'users add',
    synopsis: 'users add --config FILE --tenant T --name N [--display-name D]',
    summary: 'create an end user; prints the invite link that sets their password',
    details: `Creates a local user of the tenant and prints an invite link (single use, 7 days) on standard output: the
person opens it, chooses a password (scrypt-hashed; never stored in clear) and is signed in. The link is shown once;
POST /api/v1/tenants/T/users/ID/invite makes a new one.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --tenant T          the tenant
  --name N            the sign-in name (letters, digits, . _ @ + -; unique in the tenant)
  --display-name D    the name pages show (default: the sign-in name)`,
  },
  {
    name: 'users list',
    synopsis: 'users list --config FILE --tenant T [--json]',
    summary: "list a tenant's end users (never a password hash)",
    details: `Lists the tenant's users: name, id (the subject their tool calls and connections use), status, how
they sign in (password, sso) and whether an invite is pending.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --tenant T          the tenant
  --json              machine-readable output`,
  },
  {
    name: 'users disable',
    synopsis: 'users disable --config FILE --tenant T --name N',
    summary: 'disable an end user; their sessions end at once',
    details: `Disables the user: every session of theirs ends at once and they can no longer sign in, locally or
through single sign-on.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --tenant T          the tenant
  --name N            the user's sign-in name`,
  },
  {
    name: 'doctor',
    synopsis: 'doctor [--config FILE] [--json]',
    summary: 'check a deployment: config, store, migrations, clock, Redis, master key, public URL',
    details: `Checks what the gateway needs before it serves, reading only (it migrates nothing and writes no key):
the config and its unset \${env:...} secrets; the store (reachable, version, pending migrations, migrations of a
newer release); the clock skew against PostgreSQL; Redis (reachable, version); the master key (present, not the
development key in production, and unwrapping every data key in the store); the public URL (HTTPS expected beyond
loopback); the admin token. Prints each finding with what to do. Exit 1 when a check failed, 0 otherwise.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --json              machine-readable output`,
  },
  {
    name: 'providers list',
    synopsis: 'providers list [--category C] [--json]',
    summary: 'list the built-in provider catalogue (OAuth and API-key APIs ready to use)',
    details: `Lists every provider of the built-in catalogue: id, name, categories, auth type and the size of its
curated tool pack. Use a provider in the config with services: [{ provider: ID, clientId, clientSecret }].

Options:
  --category C   only providers of this category (communication, crm, dev-tools, ...)
  --json         machine-readable output

Example:
  gatehouse providers list --category calendar`,
  },
  {
    name: 'providers show',
    synopsis: 'providers show ID [--config FILE] [--json]',
    summary: 'show a provider: auth, scopes (read/write), tool pack, the redirect URI to register',
    details: `Shows one provider of the catalogue: its OAuth endpoints, PKCE and refresh behaviour, quirks, every scope
with its read/write class (default scopes marked), per-connection variables, the tools of its curated pack with
their scopes, and the config lines that use it. The redirect URI to register at the provider is
{publicUrl}/oauth/callback, from --config (or GATEHOUSE_PUBLIC_URL, or the default listen address).

Options:
  --config, -c FILE   the config file whose publicUrl the redirect URI uses (or GATEHOUSE_CONFIG)
  --json              machine-readable output

Example:
  gatehouse providers show slack --config gatehouse.yaml`,
  },
  {
    name: 'apply',
    synopsis: 'apply --config FILE [--dry-run]',
    summary: 'make the stored tenant configurations equal to the file and print what changed',
    details: `Reconciles the store to the file's tenants: each tenant written where it differs, each
stored tenant the file lacks removed; prints every added, changed and removed resource. Running processes serve
the change within about a second, without a restart. The whole file is validated first and secret fields must be
\${env:NAME} references: a broken file changes nothing and exits 2 naming the field path.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)
  --dry-run           print what apply would change (removals too) and change nothing

Example:
  gatehouse apply --config gatehouse.yaml`,
  },
  {
    name: 'export',
    synopsis: 'export --config FILE',
    summary: 'print the stored tenant configurations as YAML that apply accepts',
    details: `Writes the stored tenants (as changed through the admin API or apply) as a config file's tenants, to
standard output. Secrets are the \${env:NAME} references they were stored as, never values.

Options:
  --config, -c FILE   the config file naming the store (or GATEHOUSE_CONFIG)

Example:
  gatehouse export --config gatehouse.yaml > tenants.yaml`,
  },
  {
    name: 'migrate',
    synopsis: 'migrate --config FILE',
    summary: 'run pending store migrations (serve also runs them)',
    details: `Runs the pending migrations of the configured store (SQLite or PostgreSQL). Safe to run from several
processes at once.

Options:
  --config, -c FILE   the config file (or GATEHOUSE_CONFIG)`,
  },
  {
    name: 'audit verify',
    synopsis: 'audit verify [--config FILE] --tenant T [--checkpoint SEQ:HASH] [--json]',
    summary: "check a tenant's audit hash chain and signed checkpoints (exit 1 at the first bad seq)",
    details: `Walks the tenant's audit log from the first record, checking every hash link and every signed checkpoint
(which needs the master key). Exit 1 names the first bad record; exit 2 for an unknown tenant.
Without --config, reads the default store (.gatehouse/gatehouse.db).

Options:
  --config, -c FILE        the config file (or GATEHOUSE_CONFIG)
  --tenant T               the tenant
  --checkpoint SEQ:HASH    also check a chain head you kept outside the database
  --json                   machine-readable output`,
  },
  {
    name: 'vault rotate',
    synopsis: 'vault rotate [--config FILE]',
    summary: 'add a new master key version to the key file',
    details: `Adds a new master key version to the configured key file (masterKeyFile); new data keys are wrapped with
it. Run 'vault rewrap' afterwards to move existing data keys to it.`,
  },
  {
    name: 'vault rewrap',
    synopsis: 'vault rewrap [--config FILE]',
    summary: 'rewrap every data key with the newest master key version',
    details: `Rewraps every tenant's data key with the newest master key version. Resumable: run it again after an
interruption.`,
  },
  {
    name: 'tenant purge',
    synopsis: 'tenant purge --config FILE --tenant T [--previous-config OLD] [--force]',
    summary: 'after removing a tenant: revoke its connections upstream, delete its data, destroy its data keys',
    details: `For a tenant removed from the config (and from the store): revokes its OAuth tokens upstream (where the
provider supports revocation), then deletes every row of the tenant in one transaction, data keys included, so what
remains can never be decrypted. The audit log is kept (docs/operations.md, "Removing a tenant"). --previous-config
names the config that still had the tenant (for its OAuth services); --force purges a tenant that is still
configured in the file or the store.`,
  },
];

const footer = `Run 'gatehouse <command> --help' for a command's options.

Environment: GATEHOUSE_CONFIG, GATEHOUSE_LISTEN, GATEHOUSE_PUBLIC_URL, GATEHOUSE_STORE, GATEHOUSE_REDIS,
GATEHOUSE_MASTER_KEY, GATEHOUSE_MASTER_KEY_FILE, GATEHOUSE_MODE, GATEHOUSE_DATA_DIR, GATEHOUSE_LOG_LEVEL,
GATEHOUSE_LOG_FORMAT, GATEHOUSE_ADMIN_TOKEN, GATEHOUSE_METRICS_TOKEN, GATEHOUSE_SQLITE_NATIVE_BINDING
(all in docs/configuration.md).
Exit codes: 0 ok, 1 failure, 2 invalid configuration or usage.`;

/** The global usage: every command on one line. */
export function formatUsage(): string {
  const lines = commands.map((command) => {
    const left = `  ${command.synopsis}`;
    return left.length <= 38 ? `${left.padEnd(39)}${command.summary}` : `${left}\n${' '.repeat(39)}${command.summary}`;
  });
  return `Usage: gatehouse <command> [options]\n\nCommands:\n${lines.join('\n')}\n  --version, -v                        print the version\n\n${footer}`;
}

/**
 * The command named by `words` (its name: `keys create`) and the options (long names) it takes: those its synopsis
 * names, so help and parsing cannot disagree; undefined when no command has that name (the caller says so). A
 * command that ignored an option meant for another would do something else than asked: `tenant purge --dry-run`
 * purged.
 */
export function acceptedOptions(
  words: readonly string[],
): { readonly command: string; readonly options: ReadonlySet<string> } | undefined {
  const full = words.slice(0, 2).join(' ');
  const command = commands.find((c) => c.name === full) ?? commands.find((c) => c.name === words[0]);
  if (command === undefined) return undefined;
  const named = [...command.synopsis.matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1] as string);
  return { command: command.name, options: new Set(named) };
}

/**
 * The help of the command named by `words` (`['keys', 'create']`, or `['keys']` for every keys command), or
 * undefined when no command has that name.
 */
export function formatCommandHelp(words: readonly string[]): string | undefined {
  const full = words.slice(0, 2).join(' ');
  const exact = commands.find((command) => command.name === full) ?? commands.find((c) => c.name === words[0]);
  if (exact !== undefined) return `Usage: gatehouse ${exact.synopsis}\n\n${exact.details}`;
  const group = commands.filter((command) => command.name.startsWith(`${words[0]} `));
  if (group.length === 0) return undefined;
  return group.map((command) => `Usage: gatehouse ${command.synopsis}\n\n${command.details}`).join('\n\n');
}
