import { z } from 'zod';
import { GatehouseError, isGatehouseError } from '../core/index.ts';
import { descriptionFieldOf, type ServiceDescriptions, uploadFormats } from '../gateway/index.ts';
import { type AdminAnswer, type AdminContext, type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

/** An uploaded description travels as a JSON string: 25 MiB of text, plus room for escaping. */
const uploadBodyLimit = 40 * 1024 * 1024;

const sourceFields = ['openapi', 'swagger', 'googleDiscovery', 'graphql', 'wsdl', 'mcp'] as const;

const descriptionInput = {
  text: z
    .string()
    .min(1)
    .optional()
    .describe('The description itself: OpenAPI, Swagger, Google Discovery, GraphQL SDL or WSDL'),
  url: z.url().optional().describe('Where to fetch the description (through the SSRF guard); instead of text'),
  format: z.enum(uploadFormats).optional().describe('Refuse a description of another format (default: detected)'),
};

const previewTool = z.object({
  name: z.string(),
  method: z.string(),
  path: z.string(),
  safety: z.string(),
  access: z.enum(['read', 'write']),
  scopes: z.array(z.array(z.string())),
  description: z.string(),
  tokens: z.number().int(),
});

const previewSchema = z.object({
  title: z.string(),
  format: z.enum(uploadFormats),
  baseUrl: z.string().nullable(),
  tools: z.array(previewTool),
  tokens: z.number().int(),
  warnings: z.array(z.object({ at: z.string(), reason: z.string() })),
});

/**
 * Adding a service from a description that is not a file of the config (issue 14): preview the tools an uploaded
 * or fetched description becomes, with their o200k token sizes and read/write class, without saving anything;
 * then import it, which stores the text per tenant (`stored:<sha256>`) and creates the service exactly as
 * `POST .../services` does (same validation, 409, audit).
 */
export function createServiceDescriptionRoutes(options: {
  readonly descriptions: ServiceDescriptions;
  readonly createService: (context: AdminContext, body: Record<string, unknown>) => Promise<AdminAnswer>;
}): AdminRoute[] {
  const { descriptions } = options;

  /** The description's text from `text` or `url` (exactly one), and which of the two it came from. */
  async function textOf(
    body: Record<string, unknown>,
  ): Promise<{ text: string; field: 'text' | 'url'; source: string }> {
    const parsed = z
      .object(descriptionInput)
      .safeParse({ text: body['text'], url: body['url'], format: body['format'] });
    if (!parsed.success) {
      const issue = parsed.error.issues[0] as z.core.$ZodIssue;
      const field = String(issue.path[0] ?? 'text');
      throw new GatehouseError('resource_invalid', `${field}: ${issue.message}`, { field });
    }
    const { text, url } = parsed.data;
    if ((text === undefined) === (url === undefined)) {
      throw new GatehouseError(
        'resource_invalid',
        'text: send the description as text, or a url to fetch it from (one of the two)',
        {
          field: 'text',
        },
      );
    }
    if (text !== undefined) return { text, field: 'text', source: 'upload' };
    return { text: await descriptions.fetchText(url as string, 'url'), field: 'url', source: url as string };
  }

  function preview(body: Record<string, unknown>, text: string, field: string, service: string) {
    try {
      const format = body['format'] as (typeof uploadFormats)[number] | undefined;
      return descriptions.preview({ text, service, ...(format === undefined ? {} : { format }) }).preview;
    } catch (error) {
      if (isGatehouseError(error) && error.code === 'description_invalid') {
        throw new GatehouseError('resource_invalid', `${field}: ${error.message}`, { field });
      }
      throw error;
    }
  }

  return [
    {
      method: 'POST',
      path: '/tenants/:tenant/services/preview',
      summary:
        'The tools a description becomes (token sizes, read/write class, import warnings), without saving anything',
      roles: adminRoleSets.configure,
      bodyLimit: uploadBodyLimit,
      requestSchema: z.object({
        ...descriptionInput,
        service: z.string().min(1).optional().describe('The service id the tool names start with (default: service)'),
      }),
      responseSchema: previewSchema,
      handle: async (context) => {
        const body = await context.readJson();
        const service = body['service'] ?? 'service';
        if (typeof service !== 'string' || !/^[A-Za-z0-9_-]+$/.test(service)) {
          throw new GatehouseError('resource_invalid', 'service: expected a service id (letters, digits, _ and -)', {
            field: 'service',
          });
        }
        const { text, field } = await textOf(body);
        return { body: preview(body, text, field, service) };
      },
    },
    {
      method: 'POST',
      path: '/tenants/:tenant/services/import',
      summary:
        'Create a service from an uploaded or fetched description: stored with the tenant, named stored:<sha256>',
      roles: adminRoleSets.configure,
      bodyLimit: uploadBodyLimit,
      requestSchema: z.object({
        ...descriptionInput,
        service: z
          .looseObject({ id: z.string() })
          .describe('The service as POST .../services takes it, without a description field (the upload is it)'),
      }),
      handle: async (context) => {
        const body = await context.readJson();
        const service = body['service'];
        if (service === null || typeof service !== 'object' || Array.isArray(service)) {
          throw new GatehouseError('resource_invalid', 'service: expected the service as an object with its id', {
            field: 'service',
          });
        }
        const fields = service as Record<string, unknown>;
        if (typeof fields['id'] !== 'string') {
          throw new GatehouseError('resource_invalid', 'service.id: expected the service id', { field: 'service.id' });
        }
        const named = sourceFields.find((f) => fields[f] !== undefined);
        if (named !== undefined) {
          throw new GatehouseError(
            'resource_invalid',
            `service.${named}: the uploaded description is the service's description; leave it out`,
            {
              field: `service.${named}`,
            },
          );
        }
        const { text, field, source } = await textOf(body);
        const { format } = preview(body, text, field, fields['id']);
        const reference = await descriptions.save(context.params['tenant'] as string, text, source, context.actor);
        try {
          return await options.createService(context, { ...fields, [descriptionFieldOf[format]]: reference });
        } catch (error) {
          // Fields are named as sent: inside `service`.
          if (isGatehouseError(error) && typeof error.details['field'] === 'string') {
            const inner = error.details['field'] as string;
            throw new GatehouseError(error.code, error.message.replace(inner, `service.${inner}`), {
              ...error.details,
              field: `service.${inner}`,
            });
          }
          throw error;
        }
      },
    },
  ];
}
