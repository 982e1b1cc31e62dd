import com.sun.net.httpserver.HttpServer;
import java.io.*;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/* Hello PORT LOG: an HTTP server on 127.0.0.1:PORT answering "hello N" (N counts requests),
   appending one line per request to LOG */
public class Hello {
    static long served = 0;

    public static void main(String[] a) throws Exception {
        int port = Integer.parseInt(a[0]);
        PrintWriter log = new PrintWriter(new FileWriter(a[1], true), true);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 8);
        server.createContext("/", ex -> {
            byte[] body;
            synchronized (Hello.class) {
                body = ("hello " + (++served) + "\n").getBytes(StandardCharsets.UTF_8);
                log.println("served " + served);
            }
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream os = ex.getResponseBody()) { os.write(body); }
        });
        server.start();
        log.println("listening " + port);
    }
}
