// The docs page's one script (gateway/docs.html), a file of its own so that the
// page's Content-Security-Policy can forbid inline scripts.
window.ui = SwaggerUIBundle({ url: '/openapi.yaml', dom_id: '#swagger-ui', deepLinking: true });
