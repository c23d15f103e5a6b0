import type { Child } from 'hono/jsx';
import type { JsonObject, OpenApiDocument } from './openapi-document.ts';

/**
 * A human reference of an OpenAPI document, rendered on the server: every operation by tag,
 * its auth, parameters, body and answers with their schemas as nested lists. No script and no
 * external assets; the styles carry the request's CSP nonce.
 */

type Schema = JsonObject;

const METHOD_ORDER = ['get', 'post', 'put', 'patch', 'delete'];

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: JsonObject;
}

function operations(doc: OpenApiDocument): Operation[] {
  const list: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of METHOD_ORDER) {
      const op = methods[method];
      if (op) list.push({ method, path, op });
    }
  }
  return list;
}

const str = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function constraints(schema: Schema): string[] {
  const notes: string[] = [];
  const keys: [string, string][] = [
    ['minimum', '≥'],
    ['exclusiveMinimum', '>'],
    ['maximum', '≤'],
    ['exclusiveMaximum', '<'],
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minItems', 'min items'],
    ['maxItems', 'max items'],
    ['pattern', 'pattern'],
    ['format', 'format'],
    ['default', 'default'],
  ];
  for (const [key, label] of keys) {
    const value = schema[key];
    // Zod states the safe-integer range on every integer; it says nothing to a reader.
    if (value === undefined || (typeof value === 'number' && Math.abs(value) === Number.MAX_SAFE_INTEGER)) continue;
    notes.push(`${label} ${str(value)}`);
  }
  return notes;
}

function typeName(schema: Schema): string {
  if (schema['const'] !== undefined) return `= ${str(schema['const'])}`;
  if (Array.isArray(schema['enum'])) return `one of ${(schema['enum'] as unknown[]).map(str).join(', ')}`;
  const type = schema['type'];
  if (Array.isArray(type)) return type.join(' | ');
  if (typeof type === 'string') return type === 'array' ? 'array' : type;
  return 'any';
}

function SchemaView(props: { schema: Schema | undefined; depth?: number }): Child {
  const schema = props.schema;
  const depth = props.depth ?? 0;
  if (!schema) return <span class="muted">no body</span>;
  if (depth > 8) return <span class="muted">…</span>;
  const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (alternatives) {
    return (
      <div>
        <span class="type">one of</span>
        <ol>
          {alternatives.map((alt) => (
            <li>
              <SchemaView schema={alt} depth={depth + 1} />
            </li>
          ))}
        </ol>
      </div>
    );
  }
  const properties = schema['properties'] as Record<string, Schema> | undefined;
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  const items = schema['items'] as Schema | undefined;
  const extra = schema['additionalProperties'];
  const description = typeof schema['description'] === 'string' ? schema['description'] : null;
  return (
    <div>
      <span class="type">{typeName(schema)}</span>
      {constraints(schema).map((c) => (
        <span class="constraint">{c}</span>
      ))}
      {description ? <span class="desc"> — {description}</span> : null}
      {properties ? (
        <ul>
          {Object.entries(properties).map(([name, sub]) => (
            <li>
              <code>{name}</code>
              {required.has(name) ? <span class="req">required</span> : <span class="muted"> optional</span>} <SchemaView schema={sub} depth={depth + 1} />
            </li>
          ))}
          {extra === false ? <li class="muted">no other fields</li> : null}
        </ul>
      ) : null}
      {!properties && extra && typeof extra === 'object' && Object.keys(extra).length > 0 ? (
        <ul>
          <li>
            <span class="muted">any key →</span> <SchemaView schema={extra as Schema} depth={depth + 1} />
          </li>
        </ul>
      ) : null}
      {items ? (
        <ul>
          <li>
            <span class="muted">items:</span> <SchemaView schema={items} depth={depth + 1} />
          </li>
        </ul>
      ) : null}
    </div>
  );
}

function authText(op: JsonObject, schemes: Record<string, JsonObject>): string {
  const security = op['security'] as Record<string, unknown>[] | undefined;
  if (!security || security.length === 0) return 'none';
  return security
    .map((alt) => {
      const names = Object.keys(alt);
      if (names.length === 0) return 'none (optional)';
      return names.map((n) => `${n}${schemes[n]?.['type'] === 'apiKey' ? ` (cookie ${str(schemes[n]?.['name'])})` : ' (bearer)'}`).join(' + ');
    })
    .join(' or ');
}

function OperationView(props: { entry: Operation; schemes: Record<string, JsonObject> }): Child {
  const { method, path, op } = props.entry;
  const params = (op['parameters'] as JsonObject[] | undefined) ?? [];
  const body = op['requestBody'] as { required?: boolean; description?: string; content: Record<string, { schema: Schema }> } | undefined;
  const responses = op['responses'] as Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
  return (
    <section class="op" id={str(op['operationId'])}>
      <h3>
        <span class={`method ${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
      </h3>
      <p>{str(op['summary'])}</p>
      {op['description'] ? <p class="muted">{str(op['description'])}</p> : null}
      <p>
        <b>Auth:</b> {authText(op, props.schemes)}
        {op['x-dangerous'] ? <span class="danger"> changes cluster state</span> : null}
      </p>
      {params.length > 0 ? (
        <div>
          <h4>Parameters</h4>
          <ul>
            {params.map((p) => (
              <li>
                <code>{str(p['name'])}</code> <span class="muted">in {str(p['in'])}</span>
                {p['required'] ? <span class="req">required</span> : null} {str(p['description'])}: <SchemaView schema={p['schema'] as Schema} />
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {body ? (
        <div>
          <h4>Body {body.required === false ? <span class="muted">(optional: empty counts as {'{}'})</span> : null}</h4>
          {body.description ? <p class="muted">{body.description}</p> : null}
          {Object.entries(body.content).map(([type, media]) => (
            <div>
              <span class="muted">{type}</span>
              <SchemaView schema={media.schema} />
            </div>
          ))}
        </div>
      ) : null}
      <h4>Answers</h4>
      <ul>
        {Object.entries(responses).map(([status, response]) => (
          <li>
            <b>{status}</b> {response.description}
            {Object.entries(response.content ?? {}).map(([type, media]) => (
              <details>
                <summary class="muted">{type}</summary>
                <SchemaView schema={media.schema} />
              </details>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 2rem; color: #1d2733; }
code { font-family: ui-monospace, monospace; background: #f2f4f7; padding: 0 .25em; border-radius: 3px; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; margin-top: 2rem; }
.op { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
.op h3 { margin: .25rem 0; font-size: 1rem; }
.method { display: inline-block; min-width: 3.5em; text-align: center; border-radius: 3px; color: #fff; font-size: .8rem; padding: .1em .4em; }
.method.get { background: #1f6feb; } .method.post { background: #1a7f37; } .method.put, .method.patch { background: #9a6700; } .method.delete { background: #cf222e; }
.muted { color: #57606a; } .req { color: #cf222e; font-size: .8rem; margin-left: .3em; }
.type { font-weight: 600; } .constraint { margin-left: .5em; font-size: .85rem; color: #57606a; }
.danger { color: #9a6700; margin-left: .5em; } ul, ol { margin: .2rem 0; padding-left: 1.4rem; } nav ul { columns: 2; }
h4 { margin: .5rem 0 .2rem; }
`;

export function ReferencePage(props: { doc: OpenApiDocument; nonce: string; documentUrl: string; backLink?: { href: string; label: string } }): Child {
  const doc = props.doc;
  const info = doc['info'] as { title: string; version: string; description?: string };
  const tags = (doc['tags'] as { name: string; description: string }[] | undefined) ?? [];
  const schemes = ((doc['components'] as JsonObject | undefined)?.['securitySchemes'] ?? {}) as Record<string, JsonObject>;
  const all = operations(doc);
  const tagNames = [...tags.map((t) => t.name), ...new Set(all.flatMap((o) => (o.op['tags'] as string[]) ?? []).filter((t) => !tags.some((k) => k.name === t)))];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${info.title} ${info.version}: reference`}</title>
        <style nonce={props.nonce}>{STYLE}</style>
      </head>
      <body>
        <h1>
          {info.title} <span class="muted">{info.version}</span>
        </h1>
        {props.backLink ? (
          <p>
            <a href={props.backLink.href}>{props.backLink.label}</a>
          </p>
        ) : null}
        {info.description ? <p>{info.description}</p> : null}
        <p>
          Machine-readable: <a href={props.documentUrl}>{props.documentUrl}</a> (OpenAPI {str(doc.openapi)}). {all.length} operations.
        </p>
        <h2>Auth</h2>
        <ul>
          {Object.entries(schemes).map(([name, scheme]) => (
            <li>
              <code>{name}</code>: {str(scheme['description'] ?? scheme['type'])}
            </li>
          ))}
        </ul>
        <nav>
          <h2>Operations</h2>
          <ul>
            {all.map((o) => (
              <li>
                <a href={`#${str(o.op['operationId'])}`}>
                  {o.method.toUpperCase()} {o.path}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {tagNames.map((tag) => {
          const inTag = all.filter((o) => ((o.op['tags'] as string[]) ?? [])[0] === tag);
          if (inTag.length === 0) return null;
          return (
            <div>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              <p class="muted">{tags.find((t) => t.name === tag)?.description ?? ''}</p>
              {inTag.map((entry) => (
                <OperationView entry={entry} schemes={schemes} />
              ))}
            </div>
          );
        })}
      </body>
    </html>
  );
}
