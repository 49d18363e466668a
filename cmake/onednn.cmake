# Optional oneDNN (libdnnl) tactic source for Conv / FusedConv.
# KILN_ONEDNN: AUTO (where dnnl.h and libdnnl are found), ON or OFF.
# KILN_DEPS (cache variable or environment, as scripts/gpu_test.sh uses it)
# names a folder of extracted Debian packages (KILN_DEPS/usr/include,
# KILN_DEPS/usr/lib/x86_64-linux-gnu) searched before the system.
# oneDNN's Debian build threads with OpenMP (libgomp); kiln calls
# omp_set_num_threads itself, so libgomp is linked directly too.
set(KILN_HAVE_ONEDNN OFF)
set(KILN_ONEDNN_PC_LIBS "")
if(NOT KILN_ONEDNN STREQUAL "OFF")
  set(kiln_dnnl_hints "")
  if(KILN_DEPS)
    list(APPEND kiln_dnnl_hints "${KILN_DEPS}/usr")
  endif()
  if(DEFINED ENV{KILN_DEPS})
    list(APPEND kiln_dnnl_hints "$ENV{KILN_DEPS}/usr")
  endif()
  find_path(KILN_DNNL_INCLUDE_DIR dnnl.h HINTS ${kiln_dnnl_hints} PATH_SUFFIXES include)
  find_library(KILN_DNNL_LIBRARY NAMES dnnl libdnnl.so.2 HINTS ${kiln_dnnl_hints}
               PATH_SUFFIXES lib/x86_64-linux-gnu lib)
  find_package(OpenMP COMPONENTS C QUIET)
  if(OpenMP_gomp_LIBRARY)
    set(KILN_GOMP_LIBRARY ${OpenMP_gomp_LIBRARY})
  else()
    find_library(KILN_GOMP_LIBRARY NAMES gomp libgomp.so.1 HINTS ${kiln_dnnl_hints}
                 PATH_SUFFIXES lib/x86_64-linux-gnu lib)
  endif()
  if(KILN_DNNL_INCLUDE_DIR AND KILN_DNNL_LIBRARY AND KILN_GOMP_LIBRARY)
    set(KILN_HAVE_ONEDNN ON)
  elseif(KILN_ONEDNN STREQUAL "ON")
    message(FATAL_ERROR "KILN_ONEDNN=ON but dnnl.h, libdnnl or libgomp was not found "
                        "(${KILN_DNNL_INCLUDE_DIR}, ${KILN_DNNL_LIBRARY}, ${KILN_GOMP_LIBRARY}); "
                        "install libdnnl-dev or set KILN_DEPS")
  endif()
endif()
if(KILN_HAVE_ONEDNN)
  target_include_directories(kiln_objects PRIVATE ${KILN_DNNL_INCLUDE_DIR})
  target_compile_definitions(kiln_objects PRIVATE KILN_HAVE_ONEDNN=1)
  target_link_libraries(kiln_objects PUBLIC ${KILN_DNNL_LIBRARY} ${KILN_GOMP_LIBRARY})
  foreach(t kiln_static kiln_shared)
    target_link_libraries(${t} PUBLIC ${KILN_DNNL_LIBRARY} ${KILN_GOMP_LIBRARY})
  endforeach()
  set(KILN_ONEDNN_PC_LIBS "-ldnnl -lgomp")
  # the thread pool's OpenMP backend: kiln's loops on oneDNN's OpenMP team
  target_sources(kiln_objects PRIVATE ${CMAKE_SOURCE_DIR}/src/core/thread_pool_openmp.c)
  target_compile_definitions(kiln_objects PRIVATE KILN_POOL_OPENMP=1)
  message(STATUS "kiln: oneDNN tactics enabled (${KILN_DNNL_LIBRARY})")
else()
  message(STATUS "kiln: oneDNN tactics disabled")
endif()
