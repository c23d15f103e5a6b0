import { z } from 'zod';

/** POST /login's form: the admin token. Anything else in the form is ignored; a missing token is a wrong one. */
export const loginForm = z.object({ token: z.string().describe('The admin token (SHARDLINE_ADMIN_TOKEN)') });
