/**
 * OpenAPI description of the built-in demo API (a small task list), so the quick start has tools that work
 * with no internet and no account. Served by `startDemoApi`.
 */
export const demoApiDescription = `openapi: 3.1.0
info:
  title: Demo tasks API
  version: 1.0.0
  description: A small task list that ships with Gatehouse for the quick start.
servers:
  - url: http://127.0.0.1/
security:
  - demoKey: []
components:
  securitySchemes:
    demoKey:
      type: apiKey
      in: header
      name: X-Demo-Key
  schemas:
    Task:
      type: object
      required: [id, title, status]
      properties:
        id: { type: string, description: Task id }
        title: { type: string }
        status: { type: string, enum: [open, done] }
        due: { type: string, format: date }
        comments:
          type: array
          items: { $ref: '#/components/schemas/Comment' }
    Comment:
      type: object
      properties:
        text: { type: string }
        at: { type: string, format: date-time }
paths:
  /tasks:
    get:
      operationId: listTasks
      summary: List tasks
      description: Lists tasks, newest first, optionally only open or done ones.
      parameters:
        - { name: status, in: query, schema: { type: string, enum: [open, done] } }
        - { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100, default: 20 } }
      responses:
        '200':
          description: The tasks.
          content:
            application/json:
              schema:
                type: object
                properties:
                  tasks: { type: array, items: { $ref: '#/components/schemas/Task' } }
    post:
      operationId: createTask
      summary: Create a task
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [title]
              properties:
                title: { type: string, minLength: 1, maxLength: 200 }
                due: { type: string, format: date }
      responses:
        '201':
          description: The new task.
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Task' }
  /tasks/{taskId}:
    parameters:
      - { name: taskId, in: path, required: true, schema: { type: string } }
    get:
      operationId: getTask
      summary: Get one task
      responses:
        '200':
          description: The task.
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Task' }
        '404': { description: No such task. }
    patch:
      operationId: updateTask
      summary: Update a task's title or status
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                title: { type: string, minLength: 1, maxLength: 200 }
                status: { type: string, enum: [open, done] }
      responses:
        '200':
          description: The updated task.
    delete:
      operationId: deleteTask
      summary: Delete a task
      responses:
        '204': { description: Deleted. }
  /tasks/{taskId}/comments:
    parameters:
      - { name: taskId, in: path, required: true, schema: { type: string } }
    post:
      operationId: addComment
      summary: Add a comment to a task
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [text]
              properties:
                text: { type: string, minLength: 1, maxLength: 2000 }
      responses:
        '201':
          description: The task with its comments.
`;
