# One static library per part of src/, so that a part builds and tests on its own.
# lp_component(NAME DIR [DEPS ...]): every .cpp directly in src/DIR becomes part of lp_NAME.
function(lp_component name dir)
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/src/${dir}/*.cpp")
  if(sources)
    add_library(lp_${name} STATIC ${sources})
    target_include_directories(lp_${name} PUBLIC "${CMAKE_SOURCE_DIR}/src" "${CMAKE_SOURCE_DIR}/include")
    target_link_libraries(lp_${name} PUBLIC ${ARGN} Threads::Threads)
  else()
    add_library(lp_${name} INTERFACE)
    target_include_directories(lp_${name} INTERFACE "${CMAKE_SOURCE_DIR}/src" "${CMAKE_SOURCE_DIR}/include")
    target_link_libraries(lp_${name} INTERFACE ${ARGN} Threads::Threads)
  endif()
endfunction()

# Kernels of one instruction-set tier: src/kernels/DIR/*.cpp compiled with FLAGS only.
function(lp_isa_sources target dir)
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/src/kernels/${dir}/*.cpp")
  if(sources)
    set_source_files_properties(${sources} PROPERTIES COMPILE_OPTIONS "${ARGN}")
    target_sources(${target} PRIVATE ${sources})
  endif()
endfunction()
