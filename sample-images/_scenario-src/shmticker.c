/* prints a counter every second, kept in 64 KiB of shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS),
   next to an environment-style string named like a secret: the shared memory CRIU dumps apart from the
   process's own pages (pagemap-shmem-ID.img) */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
    char *shm = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        return 1;
    static const char secret[] = "\0SHM_DB_PASSWORD=hunter2-in-shared-memory";
    memcpy(shm + 4096 + 100, secret, sizeof(secret));
    unsigned long *counter = (unsigned long *)shm;
    for (;;) {
        unsigned long n = (*counter)++;
        printf("tick %lu pid %d\n", n, getpid());
        fflush(stdout);
        sleep(1);
    }
}
